"""Attribution of one period's cost rows (DESIGN "Rating semantics" rules 1-3).

One DuckDB statement classifies every lake row of the period:

* ``tax``: a ``Tax`` row left out because ``provider_tax = "exclude"``;
* ``pool``: it matches a shared pool (the first in file order);
* ``tenant``: the first tenant in file order with a matching entry that is
  active on the row's day;
* ``unallocated``: nobody took it (with the reason).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rebill.config import PRICING_SCOPE_KEYS, Config
from rebill.layout import SCHEMA_DIR, lake_root
from rebill.normalize.store import lake_of
from rebill.periods import Period
from rebill.rating.match import EQUALS, active_sql, match_sql, tag_keys, tenant_runs
from rebill.sql import literal

ROWS = "_rt_rows"

# The UTC date of ChargePeriodStart, whatever the session's TimeZone (views run in analysts' sessions)
DAY_SQL = """(DATE '1970-01-01' + CAST(epoch_us("ChargePeriodStart") // 86400000000 AS INTEGER))"""

COST_COLUMNS = {"billed": "BilledCost", "effective": "EffectiveCost", "list": "ListCost"}

# group_by key -> column of the rows table
GROUP_COLUMNS: dict[str, str] = {
    "provider": "provider", "service": "service", "sku": "sku", "region": "region",
    "account": "account", "billing_account": "billing_account", "source": "x_source",
    "charge_category": "charge_category", "resource": "resource",
}


def period_files(home: Path, period: Period) -> list[str]:
    """The lake files of ``period`` (every source; local paths or object URIs)."""
    return lake_of(home).period_files(period.label)


def source_sql(home: Path, period: Period) -> str:
    """SQL reading the canonical rows of ``period`` (empty schema when there are none)."""
    files = period_files(home, period)
    if not files:
        files = [str(lake_root(home) / SCHEMA_DIR / SCHEMA_DIR / "part-0.parquet")]
    listed = ", ".join(literal(p) for p in files)
    return (
        f"SELECT * FROM read_parquet([{listed}], union_by_name=true) "
        f"WHERE \"BillingPeriodStart\" >= TIMESTAMPTZ '{period.start_ts.isoformat()}' "
        f"AND \"BillingPeriodStart\" < TIMESTAMPTZ '{period.end_ts.isoformat()}'"
    )


def cost_column(cfg: Config) -> str:
    return COST_COLUMNS[cfg.rebill.cost_basis]


def rows_sql(cfg: Config, source: str) -> str:
    """One row per canonical row of ``source`` (a SELECT) with its target (the ``_rt_rows`` shape).

    Tag values compared by the match lists are looked up once per row (not once
    per tenant), and ``tags`` is kept only where the unallocated report may
    need it (pool and unallocated rows), so the table stays narrow.
    """
    entries = [e for p in cfg.shared for e in p.match] + [e for t in cfg.tenants for e in t.match]
    tags = {k: f"_rt_tag{i}" for i, k in enumerate(tag_keys(entries))}
    lookups = "".join(
        f', map_extract_value("Tags", {literal(k)}) AS {col}' for k, col in tags.items()
    )
    pools = " ".join(
        f"WHEN {match_sql(p.match, tags)} THEN {i}" for i, p in enumerate(cfg.shared)
    )
    tenants, any_match, joins = _tenant_chain(cfg, tags)
    exclude_tax = "true" if cfg.rebill.provider_tax == "exclude" else "false"
    # Columns read later only by group_by, pricing scopes or the unallocated report are
    # kept only where one of those can read them (NULL elsewhere keeps the table narrow).
    grouped = {GROUP_COLUMNS[k] for k in cfg.rebill.group_by}
    scoped = {k for r in cfg.pricing for k in PRICING_SCOPE_KEYS if getattr(r, k) is not None}
    direct = "(pool_idx IS NULL AND tenant_idx IS NOT NULL)"
    narrow = [
        f"CASE WHEN NOT {direct} THEN {c} END AS {c}"
        for c in ("account", "billing_account") if c not in grouped
    ] + [
        f"NULL AS {c}" for c, key in (("sku", "sku"), ("region", "region"),
                                      ("region_name", "region"), ("resource", "resource"))
        if c not in grouped and key not in grouped and key not in scoped
    ]
    replace = f" REPLACE ({', '.join(narrow)})" if narrow else ""
    return f"""
SELECT * EXCLUDE (tags){replace},
  CASE WHEN is_tax AND {exclude_tax} THEN 'tax'
       WHEN pool_idx IS NOT NULL THEN 'pool'
       WHEN tenant_idx IS NOT NULL THEN 'tenant'
       ELSE 'unallocated' END AS target,
  CASE WHEN (is_tax AND {exclude_tax}) OR (pool_idx IS NULL AND tenant_idx IS NOT NULL)
       THEN NULL ELSE tags END AS tags
FROM (
  SELECT "x_source" AS x_source, "x_row_id" AS x_row_id,
    {DAY_SQL} AS day,
    "{cost_column(cfg)}" AS cost, "BillingCurrency" AS currency,
    "ProviderName" AS provider, "ServiceName" AS service, "SkuId" AS sku,
    "RegionId" AS region, "RegionName" AS region_name,
    "SubAccountId" AS account, "BillingAccountId" AS billing_account,
    "ChargeCategory" AS charge_category, "ResourceId" AS resource, "Tags" AS tags,
    "PricingQuantity" AS quantity, "PricingUnit" AS unit,
    "ChargeCategory" = 'Tax' AS is_tax,
    {f"CASE {pools} END" if pools else "CAST(NULL AS INTEGER)"} AS pool_idx,
    {f"CASE {tenants} END" if tenants else "CAST(NULL AS INTEGER)"} AS tenant_idx,
    {any_match} AS any_tenant_match
  FROM (SELECT *{lookups} FROM ({source})){joins}
)"""


def _tenant_chain(cfg: Config, tags: dict[str, str]) -> tuple[str, str, str]:
    """(the ``WHEN`` chain picking the tenant, the any-tenant-matches predicate, the joins).

    A run of tenants matched by one equality each (:func:`tenant_runs`, e.g. 200
    ``tag = "team=..."`` tenants) is one hash lookup joined to the rows, not a
    ``WHEN`` per tenant; the order and the activity rule are the chain's.
    """
    day = DAY_SQL
    whens: list[str] = []
    anys: list[str] = []
    joins: list[str] = []
    for part in tenant_runs(cfg.tenants):
        if isinstance(part, int):
            t = cfg.tenants[part]
            whens.append(f"WHEN {match_sql(t.match, tags)} AND {active_sql(t, day)} THEN {part}")
            anys.append(match_sql(t.match, tags))
            continue
        j = len(joins)
        v, t_, s_, e_ = (f"_rt_lk{c}{j}" for c in "vtse")
        key = part.key
        column = tags[key[4:]] if key.startswith("tag:") else f'"{EQUALS[key]}"'
        rows = ", ".join(
            f"({literal(value)}, {idx}, {_date(cfg.tenants[idx].start)}, "
            f"{_date(cfg.tenants[idx].end)})" for value, idx in part.values.items())
        joins.append(
            f"\n  LEFT JOIN (SELECT CAST(v AS VARCHAR) AS {v}, CAST(t AS INTEGER) AS {t_}, "
            f"CAST(s AS DATE) AS {s_}, CAST(e AS DATE) AS {e_} FROM (VALUES {rows}) x(v, t, s, e))"
            f" ON {v} = {column}")
        whens.append(f"WHEN {t_} IS NOT NULL AND ({s_} IS NULL OR {day} >= {s_}) "
                     f"AND ({e_} IS NULL OR {day} < {e_}) THEN {t_}")
        anys.append(f"{t_} IS NOT NULL")
    return " ".join(whens), " OR ".join(anys) or "false", "".join(joins)


def _date(value: date | None) -> str:
    return f"DATE '{value.isoformat()}'" if value is not None else "NULL"
