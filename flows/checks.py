"""``rebill check``: everything that can be verified without touching a cloud."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation

from rebill.config import Config
from rebill.errors import ConfigError, RebillError


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


def missing_secrets(cfg: Config, probed: bool = False) -> list[str]:
    """One line per secret whose environment variable is not set (sources, targets, alerts).

    ``probed``: the sources and targets are tried one by one (``--connect``) and
    name their own missing variable; only the others are listed here.
    """
    import os

    from rebill.connectors.registry import validate_source_config

    where = str(cfg.file) if cfg.file else "rebill.toml"
    named: list[tuple[str, str]] = []
    for source_id, raw in sorted(cfg.sources.items() if not probed else []):
        model = validate_source_config(source_id, raw, where).model_dump()
        named += [(f"sources.{source_id}.{k}", v) for k, v in sorted(model.items())
                  if k.endswith("_env") and isinstance(v, str)]
    for name in ("fossbilling", "blesta") if not probed else ():
        target = getattr(cfg.exporters, name)
        if target is not None:
            named += [(f"exporters.{name}.{k}", v) for k, v in sorted(target.model_dump().items())
                      if k.endswith("_env")]
    if cfg.alerts is not None:
        named.append(("alerts.webhook_env", cfg.alerts.webhook_env))
    return [f"{where}: {key}: environment variable {var} is not set"
            for key, var in named if not os.environ.get(var, "").strip()]


def fx_gaps(cfg: Config, today: date) -> list[str]:
    """Each tenant currency pair with no FX rate for some day of the open periods so far."""
    from rebill import duck
    from rebill.flows.pipeline import open_periods
    from rebill.rating.fx import load_rates, resolve_rates
    from rebill.sql import literal

    pairs = sorted({(cfg.rebill.currency, cfg.tenant_currency(t)) for t in cfg.tenants
                    if cfg.tenant_currency(t) != cfg.rebill.currency})
    if not pairs:
        return []
    first = open_periods(cfg, today)[0].start
    need = ("SELECT p.b AS currency, p.q AS tenant_currency, CAST(d AS DATE) AS day "
            "FROM (VALUES {values}) p(b, q), "
            f"generate_series(DATE {literal(str(first))}, DATE {literal(str(today))}, "
            "INTERVAL 1 DAY) g(d)")
    con = duck.connect(memory_limit=None)
    gaps: list[str] = []
    try:
        path = load_rates(con, cfg)
        for base, quote in pairs:
            try:
                values = f"({literal(base)}, {literal(quote)})"
                resolve_rates(con, need.replace("{values}", values), path)
            except RebillError as err:
                gaps.append(str(err))
    except RebillError as err:
        gaps.append(str(err))
    finally:
        con.close()
    return gaps


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
