"""The rated rows of a period as one SQL relation (DESIGN rules 4-6), never materialized.

``rated_sql`` is the one definition of a rated row: a direct row of a tenant,
or one tenant's share of a pool row, priced and converted. Rating aggregates it
into invoice lines; the catalog's ``rated_costs`` view evaluates the same
text over the lake on demand. Rating stores only what the relation needs
besides the lake and the config: the takers of each (pool, currency, day)
(``takers.parquet``) and the FX rate of each (currency, tenant currency, day)
(``fx.parquet``), a few thousand rows per period.
"""

from __future__ import annotations

import pyarrow as pa

from rebill.config import Config
from rebill.datasets import RATED_VIEW_FILE, period_file_token
from rebill.periods import Period
from rebill.rating.allocate import shares_sql
from rebill.rating.attribute import GROUP_COLUMNS, rows_sql
from rebill.rating.exact import UNITS, from_units_sql, mul_round_sql, to_units_sql
from rebill.rating.pricing import factor_units_sql, markup_sql
from rebill.schema import MONEY_ARROW
from rebill.sql import literal

VIEW_FILE = RATED_VIEW_FILE
TAKERS_FILE = "takers.parquet"
FX_FILE = "fx.parquet"
TOTALS_FILE = "totals.parquet"  # per currency: what rating attributed (conservation, status)

_WEIGHT = pa.decimal128(38, 0)  # HUGEINT weights (Parquet has no 128-bit integer)
TAKERS_SCHEMA = pa.schema([
    ("pool_idx", pa.int32()), ("currency", pa.string()), ("day", pa.date32()),
    ("tenant_idx", pa.int32()), ("w", _WEIGHT), ("big_w", _WEIGHT),
])
FX_SCHEMA = pa.schema([
    ("currency", pa.string()), ("tenant_currency", pa.string()), ("day", pa.date32()),
    ("fx_rate", pa.decimal128(20, 12)),
])
RATED_TOTALS = pa.schema([
    ("currency", pa.string()), ("direct", MONEY_ARROW), ("direct_n", pa.int64()),
    ("pooled", MONEY_ARROW), ("pooled_n", pa.int64()),
])


def read_takers_sql(path: str) -> str:
    """The takers file (``path`` a quoted literal or token) with its weights as HUGEINT."""
    return (f"(SELECT pool_idx, currency, day, tenant_idx, CAST(w AS HUGEINT) AS w, "
            f"CAST(big_w AS HUGEINT) AS big_w FROM read_parquet({path}))")


def read_fx_sql(path: str) -> str:
    return (f"(SELECT currency, tenant_currency, day, fx_rate, {to_units_sql('fx_rate')} AS fx_u "
            f"FROM read_parquet({path}))")


def tenant_currency_sql(cfg: Config, idx: str = "tenant_idx") -> str:
    return f"{_list_sql([literal(cfg.tenant_currency(t)) for t in cfg.tenants])}[{idx} + 1]"


def stored_view_sql(cfg: Config, period: Period) -> str:
    """The ``rated_costs`` text stored with a rated period: the lake through ``costs``."""
    lake = (f"SELECT * FROM costs WHERE \"BillingPeriodStart\" >= "
            f"TIMESTAMPTZ '{period.start_ts.isoformat()}' AND \"BillingPeriodStart\" < "
            f"TIMESTAMPTZ '{period.end_ts.isoformat()}'")
    takers = read_takers_sql(period_file_token(TAKERS_FILE))
    fx = read_fx_sql(period_file_token(FX_FILE))
    return view_sql(cfg, period.label, rows_sql(cfg, lake), takers, fx) + "\n"

# columns of the rated relation besides the group_by keys and the derived names
_COLUMNS = (
    "tenant_idx", "tenant_ord", "x_source", "x_row_id", "day", "pool_idx", "pricing_rule",
    "provider", "service", "charge_category", "cost", "markup", "currency", "quantity", "unit",
)


def _list_sql(values: list[str]) -> str:
    """A SQL list literal indexed by a 0-based ``*_idx`` as ``list[idx + 1]``."""
    return "[" + ", ".join(values) + "]"


def line_key_sql(cfg: Config) -> str:
    cols = ", ".join(GROUP_COLUMNS[k] for k in cfg.rebill.group_by)
    return f"coalesce(nullif(concat_ws(' ', {cols}), ''), 'Other')" if cols else "'Usage'"


def rated_sql(cfg: Config, rows: str, takers: str, fx: str,
              kinds: tuple[str, ...] = ("usage", "shared")) -> str:
    """Every rated row: ``rows`` (``_rt_rows`` shape) split by ``takers``, priced, at ``fx``.

    Columns: the ``_COLUMNS``, the group_by keys, ``fx_rate``, ``rated``,
    ``amount`` (and ``cost_u``, ``rated_u``, ``amount_u``: the same in units
    of 1e-12, see :mod:`rebill.rating.exact`) and the derived ``tenant_id``, ``tenant_currency``, ``kind``,
    ``pool`` and ``line_key``. A factor of exactly 1 leaves a value unchanged,
    so the multiply-and-round runs only where it can change the value.
    """
    pools = _list_sql([literal(p.name) for p in cfg.shared])
    ids = _list_sql([literal(t.id) for t in cfg.tenants])
    order = {t.id: n for n, t in enumerate(sorted(cfg.tenants, key=lambda x: x.id))}
    ords = _list_sql([str(order[t.id]) for t in cfg.tenants])
    pool_name = f"CAST({pools}[pool_idx + 1] AS VARCHAR)" if cfg.shared else "CAST(NULL AS VARCHAR)"
    common = (
        "r.x_source, r.x_row_id, r.day, r.provider, r.service, r.sku, r.region, r.region_name, "
        "r.account, r.billing_account, r.charge_category, r.resource, r.is_tax, r.currency"
    )
    passthrough = cfg.rebill.provider_tax == "passthrough"
    markup, rule = markup_sql(cfg, passthrough)
    factor = factor_units_sql(cfg, passthrough)
    keys = sorted({GROUP_COLUMNS[k] for k in cfg.rebill.group_by} - set(_COLUMNS))
    kept = ", ".join([*_COLUMNS, *keys])
    branches = []
    if "usage" in kinds:
        branches.append(f"""
          SELECT r.tenant_idx, {common}, CAST(NULL AS INTEGER) AS pool_idx, r.cost,
                 {to_units_sql("r.cost")} AS cost_u, r.quantity, r.unit
          FROM ({rows}) r WHERE r.target = 'tenant'""")
    if "shared" in kinds:
        branches.append(f"""
          SELECT s.tenant_idx, {common.replace("r.", "s.")}, s.pool_idx, s.cost, s.cost_u,
                 CAST(NULL AS DECIMAL(38,12)) AS quantity, CAST(NULL AS VARCHAR) AS unit
          FROM ({shares_sql(rows, takers)}) s""")
    return f"""
SELECT *, CASE WHEN kind = 'shared' THEN 'Shared: ' || pool ELSE {line_key_sql(cfg)} END
  AS line_key
FROM (
  SELECT *, {ids}[tenant_idx + 1] AS tenant_id,
    CASE WHEN pool_idx IS NULL THEN 'usage' ELSE 'shared' END AS kind, {pool_name} AS pool,
    {from_units_sql("rated_u")} AS rated, {from_units_sql("amount_u")} AS amount
  FROM (
    SELECT *, CASE WHEN fx_u = {UNITS} THEN rated_u ELSE {mul_round_sql("rated_u", "fx_u")} END
      AS amount_u
    FROM (
      SELECT {kept}, cost_u, tenant_currency, f.fx_rate, f.fx_u,
        CASE WHEN p.factor_u = {UNITS} THEN p.cost_u
             ELSE {mul_round_sql("p.cost_u", "p.factor_u")} END AS rated_u
      FROM (
        SELECT *, CAST({markup} AS DECIMAL(38,12)) AS markup, {rule} AS pricing_rule,
          {factor} AS factor_u, {tenant_currency_sql(cfg)} AS tenant_currency,
          CAST({ords}[tenant_idx + 1] AS INTEGER) AS tenant_ord
        FROM ({" UNION ALL ".join(branches)})
      ) p
      JOIN {fx} f USING (currency, tenant_currency, day)
    )
  )
)"""


def view_sql(cfg: Config, period_label: str, rows: str, takers: str, fx: str) -> str:
    """``rated_costs`` rows of one period (the catalog view's columns, unordered)."""
    return f"""
SELECT tenant_id, {literal(period_label)} AS period, x_row_id, x_source, day, kind, pool,
  pricing_rule, provider, service, charge_category, line_key, cost, markup, rated, currency,
  CAST(fx_rate AS DECIMAL(38,12)) AS fx_rate, amount, tenant_currency
FROM ({rated_sql(cfg, rows, takers, fx)})"""
