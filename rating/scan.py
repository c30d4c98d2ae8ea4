"""One pass over a period's lake rows: direct rows priced and summed, the others grouped.

Rating reads the lake once. Each row is attributed (:func:`rows_sql`); a
direct row (``target = 'tenant'``) is priced and converted as it streams by
and summed per (tenant, day, currency, provider, service, group_by columns,
tax flag) into ``_rt_direct``, its sums being those of its rated rows. A pool
row is grouped by its class (pool, currency, day, provider, service, tax flag,
pricing scope columns) and its own cost, counted (``_rt_rows``): rows alike in
those are split alike. Unallocated and excluded tax rows are only counted;
when there are unallocated rows (or pool rows without a taker), one more pass
reads just those with what the report shows (:func:`build_leftover`). So the
main pass carries no row ids, tags or per-row columns.

Converting needs each row's FX rate while it streams: the candidate rates
(every lake currency a tenant is billed in another currency, every day of the
period's rows) are looked up beforehand; which ones are really needed, and a
missing one as an error, is :func:`rebill.rating.fx.resolve_rates`' job later.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from rebill.config import Config
from rebill.periods import Period
from rebill.rating.attribute import DAY_SQL, ROWS, cost_column, rows_sql, source_sql, target_sql
from rebill.rating.exact import UNITS, mul_round_select, to_units_sql
from rebill.rating.fx import FX_TABLE, LOOKBACK_DAYS
from rebill.rating.pricing import factor_units, factor_units_sql
from rebill.rating.rated import tenant_currency_sql
from rebill.rating.sums import class_columns, key_columns

DIRECT = "_rt_direct"
_ALL = "_rt_all"
_CANDIDATES = "_rt_fx_candidates"

LEFTOVER = "_rt_left"
# the pass's keys besides the group_by columns and pricing scope columns
_GROUPED = ("tenant_idx", "pool_idx", "day", "currency", "provider", "service", "is_tax")


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
    """Create ``_rt_direct`` (priced direct sums) and ``_rt_rows`` (the other rows, grouped)."""
    source = source_sql(cfg.home, period)
    converts, bound = _candidate_rates(con, cfg, source)
    # 64-bit values when no row's cost, rated or converted amount can pass 2^62 units
    # (sums of them are 128-bit either way)
    as_type = "BIGINT" if bound < 2**62 else "HUGEINT"
    passthrough = cfg.rebill.provider_tax == "passthrough"
    keys = key_columns(cfg)
    direct, pool = "target = 'tenant'", "target = 'pool'"
    # the pass's keys (the target follows from them): a direct row's line grain; a pool
    # row's class and its own cost (rows of a class with equal cost are split alike);
    # the other rows only counted here
    scope = [c for c in class_columns(cfg) if c not in _GROUPED and c not in keys]
    group = [*_GROUPED, *keys, *scope, "pool_cost"]
    picked = ", ".join(f"CASE WHEN {pool} THEN {c} END AS {c}" for c in scope)
    fx_join, fx_u = "", str(UNITS)
    if converts:
        tc = tenant_currency_sql(cfg, "r.tenant_idx")
        fx_join = (f" LEFT JOIN {_CANDIDATES} f ON f.currency = r.currency "
                   f"AND f.tenant_currency = {tc} AND f.day = r.day")
        fx_u = f"CASE WHEN f.fx_rate IS NULL THEN {UNITS} ELSE {to_units_sql('f.fx_rate')} END"
    picked_rows = f"""
SELECT r.*{f" REPLACE ({picked})" if picked else ""},
  CASE WHEN {pool} THEN r.cost END AS pool_cost,
  CASE WHEN {direct} THEN {to_units_sql("r.cost", as_type)} END AS cost_u,
  CASE WHEN {direct} THEN {factor_units_sql(cfg, passthrough)} END AS factor_u,
  {fx_u} AS fx_u
FROM ({rows_sql(cfg, source)}) r{fx_join}"""
    rated = mul_round_select(picked_rows, "cost_u", "factor_u", "rated_u", as_type)
    priced = mul_round_select(rated, "rated_u", "fx_u", "amount_u", as_type) if converts \
        else rated
    # without a conversion the amount is the rated value: summed once
    amount = "sum(amount_u)" if converts else "sum(rated_u)"
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_ALL} AS
SELECT {target_sql(cfg)} AS target, {", ".join(group)}, sum(cost_u) AS cost_u,
  sum(rated_u) AS rated_u, {amount} AS amount_u, count(*) AS n,
  sum(quantity) AS quantity, min(unit) AS unit_min, max(unit) AS unit_max,
  count(unit) AS unit_n
FROM ({priced}) GROUP BY {", ".join(group)}""")
    dims = ", ".join(["tenant_idx", "day", "currency", "provider", "service", "is_tax", *keys])
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {DIRECT} AS
SELECT {dims}, cost_u, rated_u, amount_u, n, quantity, unit_min, unit_max, unit_n
FROM {_ALL} WHERE {direct}""")
    rest = ", ".join(["target", *_GROUPED, *keys, *scope])
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {ROWS} AS
SELECT {rest}, pool_cost AS cost, n FROM {_ALL} WHERE NOT {direct}""")
    con.execute(f"DROP TABLE {_ALL}")


def build_leftover(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period,
                   takers: str) -> None:
    """Create ``_rt_left``: each lake row rating leaves unallocated (no tenant or pool
    matches, or a pool row without a taker on its day), with the columns the report shows.

    The main pass only counts these rows; when there are any, the lake is read
    once more for them (attribution as in the main pass). Usually there are
    none, or a few: the main pass carries no row ids or tags for them.
    """
    kinds = ["target = 'unallocated'", f"""(target = 'pool' AND NOT EXISTS (
    SELECT 1 FROM {takers} k WHERE k.pool_idx = r.pool_idx AND k.currency = r.currency
      AND k.day = r.day))"""]
    found = con.execute("SELECT " + ", ".join(
        f"EXISTS (SELECT 1 FROM {ROWS} r WHERE {kind})" for kind in kinds)).fetchall()[0]
    wanted = [kind for kind, there in zip(kinds, found, strict=True) if there]
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {LEFTOVER} AS
SELECT x_source, x_row_id, day, target, pool_idx, any_tenant_match, provider, service,
  billing_account, account, charge_category, tags, cost, currency
FROM ({rows_sql(cfg, source_sql(cfg.home, period))}) r
WHERE {" OR ".join(wanted) or "false"}""")
