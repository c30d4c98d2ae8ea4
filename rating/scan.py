"""One pass over a period's lake rows: direct rows priced and summed, the others kept.

Rating reads the lake once. Each row is attributed (:func:`rows_sql`); a
direct row (``target = 'tenant'``) is priced and converted as it streams by
and summed per (tenant, day, currency, provider, service, group_by columns,
tax flag) into ``_rt_direct``, its sums being those of its rated rows. Every
other row (pool, unallocated, excluded tax) is kept whole in ``_rt_rows``, a
few percent of the lake, for allocation and the unallocated report. So the
period's millions of direct rows are never stored.

Converting needs each row's FX rate while it streams: the candidate rates
(every lake currency a tenant is billed in another currency, every day of the
period's rows) are looked up beforehand; which ones are really needed, and a
missing one as an error, is :func:`rebill.rating.fx.resolve_rates`' job later.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from rebill.config import Config
from rebill.errors import RatingError
from rebill.periods import Period
from rebill.rating.attribute import DAY_SQL, ROWS, cost_column, rows_sql, source_sql
from rebill.rating.exact import UNITS, mul_round_select, to_units_sql
from rebill.rating.fx import FX_TABLE, LOOKBACK_DAYS
from rebill.rating.pricing import factor_units, factor_units_sql
from rebill.rating.rated import tenant_currency_sql
from rebill.rating.sums import class_columns, key_columns

DIRECT = "_rt_direct"
_ALL = "_rt_all"
_CANDIDATES = "_rt_fx_candidates"

# columns of the ``_rt_rows`` shape, besides the keys of the pass: the unallocated
# report's, and the pricing scope columns a rule of the config uses (class_columns)
_KEPT = ("sku", "region", "region_name", "account", "billing_account", "charge_category",
         "resource", "tags", "any_tenant_match", "unit")
_REPORTED = ("account", "billing_account", "charge_category", "tags", "any_tenant_match", "unit")


def _candidate_rates(con: duckdb.DuckDBPyConnection, cfg: Config, source: str
                     ) -> tuple[bool, int]:
    """Create ``_rt_fx_candidates``: (whether a row may need converting, the largest
    |cost| x factor x rate of the period in units, a bound for 64-bit sums)."""
    currencies = sorted({cfg.tenant_currency(t) for t in cfg.tenants}) or [cfg.rebill.currency]
    listed = ", ".join(f"('{c}')" for c in currencies)
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE _rt_profile AS
SELECT "BillingCurrency" AS currency, min({DAY_SQL}) AS lo, max({DAY_SQL}) AS hi,
  max(abs("{cost_column(cfg)}")) AS big
FROM ({source}) GROUP BY 1""")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_CANDIDATES} AS
WITH need AS (
  SELECT c.currency, t.tc AS tenant_currency,
    CAST(unnest(generate_series(CAST(c.lo AS TIMESTAMP), CAST(c.hi AS TIMESTAMP),
                                INTERVAL 1 DAY)) AS DATE) AS day
  FROM _rt_profile c CROSS JOIN (VALUES {listed}) t(tc) WHERE c.currency <> t.tc
)
SELECT n.currency, n.tenant_currency, n.day, arg_max(f.rate, f.date) AS fx_rate
FROM need n LEFT JOIN {FX_TABLE} f
  ON f.base = n.currency AND f.quote = n.tenant_currency
 AND f.date <= n.day AND f.date >= n.day - {LOOKBACK_DAYS}
GROUP BY ALL""")
    n, rate = con.execute(f"SELECT count(*), max(fx_rate) FROM {_CANDIDATES}").fetchall()[0]
    big = con.execute("SELECT max(big) FROM _rt_profile").fetchall()[0][0] or 0
    markups = [t.markup for t in cfg.tenants] + [r.markup for r in cfg.pricing]
    factor = max((abs(factor_units(m)) for m in markups), default=UNITS)
    fx = max(int(Decimal(rate).scaleb(12)), UNITS) if rate is not None else UNITS
    bound = (int(Decimal(big).scaleb(12)) + 1) * factor // UNITS * fx // UNITS + 1
    return bool(n), bound


def build_scan(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period) -> None:
    """Create ``_rt_direct`` (priced direct sums) and ``_rt_rows`` (every other row)."""
    source = source_sql(cfg.home, period)
    converts, bound = _candidate_rates(con, cfg, source)
    # 64-bit values when no row's cost, rated or converted amount can pass 2^62 units
    # (sums of them are 128-bit either way)
    as_type = "BIGINT" if bound < 2**62 else "HUGEINT"
    passthrough = cfg.rebill.provider_tax == "passthrough"
    keys = key_columns(cfg)
    direct = "target = 'tenant'"
    # the pass's keys: a direct row's line grain, or the row itself for the others
    own = [c for c in ("x_source", "x_row_id") if c not in keys]
    group = ["target", "tenant_idx", "pool_idx", "day", "currency", "provider", "service",
             "is_tax", *keys, *own]
    picked = ", ".join(f"CASE WHEN {direct} THEN NULL ELSE {c} END AS {c}" for c in own)
    fx_join, fx_u = "", str(UNITS)
    if converts:
        tc = tenant_currency_sql(cfg, "r.tenant_idx")
        fx_join = (f" LEFT JOIN {_CANDIDATES} f ON f.currency = r.currency "
                   f"AND f.tenant_currency = {tc} AND f.day = r.day")
        fx_u = f"CASE WHEN f.fx_rate IS NULL THEN {UNITS} ELSE {to_units_sql('f.fx_rate')} END"
    # a column no later step reads is not carried (nor read from the lake)
    needed = set(_REPORTED) | set(class_columns(cfg))
    carried = [c for c in _KEPT if c not in keys and c in needed]
    kept = ", ".join(f"any_value({c}) AS {c}" for c in carried if c != "unit")
    picked_rows = f"""
SELECT r.* REPLACE ({picked}),
  CASE WHEN {direct} THEN {to_units_sql("r.cost", as_type)} END AS cost_u,
  CASE WHEN {direct} THEN {factor_units_sql(cfg, passthrough)} END AS factor_u,
  {fx_u} AS fx_u
FROM ({rows_sql(cfg, source)}) r{fx_join}"""
    rated = mul_round_select(picked_rows, "cost_u", "factor_u", "rated_u", as_type)
    priced = (mul_round_select(rated, "rated_u", "fx_u", "amount_u", as_type) if converts
              else f"SELECT *, rated_u AS amount_u FROM ({rated})")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_ALL} AS
SELECT {", ".join(group)}, {kept}, sum(cost) AS cost, sum(cost_u) AS cost_u,
  sum(rated_u) AS rated_u, sum(amount_u) AS amount_u, count(*) AS n,
  sum(quantity) AS quantity, min(unit) AS unit_min, max(unit) AS unit_max,
  count(unit) AS unit_n
FROM ({priced}) GROUP BY {", ".join(group)}""")
    dup = con.execute(f"SELECT x_source, x_row_id FROM {_ALL} WHERE target <> 'tenant' AND n > 1 "
                      "ORDER BY ALL LIMIT 1").fetchall()
    if dup:
        raise RatingError(f"{period}: lake row id {dup[0][1]!r} of source {dup[0][0]!r} "
                          "occurs twice (re-ingest the source)")
    dims = ", ".join(["tenant_idx", "day", "currency", "provider", "service", "is_tax", *keys])
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {DIRECT} AS
SELECT {dims}, cost_u, rated_u, amount_u, n, quantity, unit_min, unit_max, unit_n
FROM {_ALL} WHERE {direct}""")
    rest = ", ".join(c for c in ("target", "tenant_idx", "pool_idx", "day", "currency",
                                 "provider", "service", "is_tax", *keys, *own,
                                 *(c for c in carried if c != "unit")))
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {ROWS} AS
SELECT {rest}, cost, quantity, unit_min AS unit FROM {_ALL} WHERE NOT {direct}""")
    con.execute(f"DROP TABLE {_ALL}")
