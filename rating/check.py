"""Rating's part of ``rebill check``: cross-references and overlapping tenant matches."""

from __future__ import annotations

from rebill import duck
from rebill.config import Config
from rebill.errors import ConfigError
from rebill.normalize.store import lake_of
from rebill.rating.match import match_sql
from rebill.sql import literal

EXAMPLES = 3


def _where(cfg: Config) -> str:
    return str(cfg.file) if cfg.file is not None else "config"


def check_references(cfg: Config) -> None:
    """Raise ConfigError on the first unknown tenant named by pricing, fees or shared pools."""
    known = {t.id for t in cfg.tenants}
    refs: list[tuple[str, str]] = []
    refs += [(f"pricing[{i}].tenant", p.tenant) for i, p in enumerate(cfg.pricing) if p.tenant]
    refs += [(f"fees[{i}].tenant", f.tenant) for i, f in enumerate(cfg.fees)]
    for i, pool in enumerate(cfg.shared):
        refs += [(f"shared[{i}].weights.{t}", t) for t in (pool.weights or {})]
        refs += [(f"shared[{i}].tenants", t) for t in (pool.tenants or [])]
    for key, tenant in refs:
        if tenant not in known:
            raise ConfigError(f"{_where(cfg)}: {key}: unknown tenant {tenant!r}")


def overlap_warnings(cfg: Config) -> list[str]:
    """Lake rows matching the entries of two or more tenants (the first in file order wins)."""
    files = lake_of(cfg.home).all_files()
    if len(cfg.tenants) < 2 or not files:
        return []
    flags = ", ".join(
        f"CASE WHEN {match_sql(t.match)} THEN {i} END" for i, t in enumerate(cfg.tenants)
    )
    listed = ", ".join(literal(f) for f in files)
    con = duck.connect()  # registers an object-store lake
    try:
        rows = con.execute(f"""
SELECT hits, count(*) AS n,
       list(concat_ws(' ', "ProviderName", "ServiceName", 'account', coalesce("SubAccountId", '-'),
                      'row', "x_source" || '/' || "x_row_id") ORDER BY "x_source", "x_row_id")
FROM (
  SELECT *, list_filter([{flags}], lambda x: x IS NOT NULL) AS hits
  FROM read_parquet([{listed}])
) WHERE len(hits) > 1 GROUP BY hits ORDER BY hits""").fetchall()
    finally:
        con.close()
    out: list[str] = []
    for hits, n, examples in rows:
        ids = [cfg.tenants[i].id for i in hits]
        shown = "; ".join(examples[:EXAMPLES])
        out.append(
            f"{n} lake rows match tenants {', '.join(ids)} (the first, {ids[0]}, takes them "
            f"while active), e.g. {shown}"
        )
    return out


def check_config(cfg: Config) -> list[str]:
    """Raise ConfigError for broken references; return warnings (overlapping matches, ...)."""
    check_references(cfg)
    warnings = [
        f"tenant {t.id} has no match entries: it only receives shared costs, fees and minimums"
        for t in cfg.tenants if not t.match
    ]
    return warnings + overlap_warnings(cfg)
