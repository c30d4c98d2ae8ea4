"""``rebill check``: everything that can be verified without touching a cloud."""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation

from rebill.config import Config
from rebill.errors import ConfigError


def check_fx(cfg: Config) -> None:
    """The FX file exists and every row is ``date,base,quote,rate`` with a positive rate."""
    if cfg.fx is None:
        return
    path = cfg.resolve(cfg.fx.path)
    if not path.exists():
        raise ConfigError(f"fx.path: {path} not found")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        if header[:4] != ["date", "base", "quote", "rate"]:
            raise ConfigError(f"{path}: header must be date,base,quote,rate (got {','.join(header)})")
        for n, row in enumerate(reader, start=2):
            try:
                rate = Decimal(row["rate"].strip())
            except (InvalidOperation, AttributeError):
                raise ConfigError(f"{path}, row {n}, column rate: {row['rate']!r} is not a number") from None
            if rate <= 0:
                raise ConfigError(f"{path}, row {n}, column rate: must be positive")


def run_checks(cfg: Config) -> list[str]:
    """Raise ConfigError on the first error; return warnings."""
    from rebill.connectors.registry import validate_source_config

    where = str(cfg.file) if cfg.file else "rebill.toml"
    for source_id, raw in cfg.sources.items():
        validate_source_config(source_id, raw, where)
    check_fx(cfg)
    warnings = check_match_sources(cfg)
    from rebill.rating.check import check_config

    return warnings + list(check_config(cfg))


def check_match_sources(cfg: Config) -> list[str]:
    """A match on a source that is neither configured nor in the lake is an error; one
    whose source was removed but whose data is still in the lake, a warning."""
    from rebill.normalize.store import lake_of

    where = str(cfg.file) if cfg.file else "rebill.toml"
    known = ", ".join(sorted(cfg.sources)) or "none configured"
    named = [(key, s) for key, s in cfg.match_sources() if s not in cfg.sources]
    if not named:
        return []
    in_lake = {part.split("source=", 1)[1].split("/", 1)[0]
               for part in lake_of(cfg.home).all_files() if "source=" in part}
    warnings = []
    for key, source_id in named:
        if source_id not in in_lake:
            raise ConfigError(f"{where}: {key}: unknown source {source_id!r} "
                              f"(sources: {known})")
        warnings.append(f"{key}: source {source_id!r} is not configured; only the data it "
                        "already loaded into the lake is matched")
    return warnings
