"""The sums of a period's rated rows, without materializing one (DESIGN rules 4-7).

A rated row (:mod:`rebill.rating.rated`) is a direct row or one tenant's share
of a pool row, priced and converted, each value held at 12 decimals. Rating
needs only their sums, at the grain of its finest output (``_rt_fine``: per
kind, tenant, pool, day, currency, provider, service and group_by columns);
invoice lines, conservation totals and ``rated_daily`` are roll-ups of it.

* Direct rows are priced and converted one by one and summed in one pass.
* Pool rows fall into *classes*: the rows of one (pool, currency, day,
  provider, service, tax flag and every column a pricing rule scopes on) have
  the same takers, weights, markups and FX rates. Each pool row meets each
  taker of its class in a stream that is summed as it flows, never stored:
  once unpriced per row, once priced per (class, tenant). A row's sum gives
  its remainder; the
  remainder goes to the largest |share| (tie: the tenant first in file order),
  which is the share of the class's top taker (largest weight, then first)
  or an equal one earlier in the file. Only that one share per row is priced
  again with the remainder added.
* A pool row's shares, remainder and prices depend only on its class and its
  cost, so the rows of a class with equal cost are split once and counted
  ``m`` times (hourly rows of a fixed-price resource are split once a day).
  Its shares and remainder depend only on its takers and weights and its
  cost: classes with the same takers (the days of a month, mostly) form one
  *split group*, and the per-row sums are taken once per (group, cost).

The arithmetic is :mod:`rebill.rating.exact`'s, as in the ``rated_costs``
relation; tests/unit/rating/test_sums.py checks every sum against it.
"""

from __future__ import annotations

import contextlib

import duckdb
import pyarrow as pa

from rebill.config import PRICING_SCOPE_KEYS, Config
from rebill.rating.allocate import share_units_sql
from rebill.rating.attribute import GROUP_COLUMNS
from rebill.rating.exact import UNITS, from_units_sql, mul_round_select, split_select, to_units_sql
from rebill.rating.pricing import SCOPE_COLUMNS, factor_units_sql
from rebill.rating.rated import tenant_currency_sql

FINE = "_rt_fine"
_POOL_ROWS = "_rt_pool_rows"
_POOL = "_rt_pool"
_POOL_SCAN = "_rt_pool_scan"  # _rt_pool as the share streams read it (_even_scan)
_POOL_ARROW = "_rt_pool_arrow"
# DuckDB scans a table in parallel by row groups of 122,880 rows: a pool table of 150k
# rows is two uneven tasks, one core idle half the time. Below this size the streams read
# it from Arrow batches instead (in parallel by batch), above it the row groups balance.
_ARROW_BELOW = 16 * 122_880
_CLASSES = "_rt_classes"
_CLASS_TAKERS = "_rt_class_takers"
_SHARE_SUMS = "_rt_share_sums"
_ROW_SUMS = "_rt_row_sums"
_SPLITS = "_rt_splits"
_SPLIT_TAKERS = "_rt_split_takers"
_SPLIT_POOL = "_rt_split_pool"


def key_columns(cfg: Config) -> list[str]:
    """The group_by columns besides provider and service (always kept)."""
    cols = dict.fromkeys(GROUP_COLUMNS[k] for k in cfg.rebill.group_by)
    return [c for c in cols if c not in ("provider", "service")]


def class_columns(cfg: Config) -> list[str]:
    """What decides a pool row's takers, markups and FX rate (besides pool and day)."""
    cols = ["pool_idx", "currency", "day", "provider", "service", "is_tax"]
    for rule in cfg.pricing:
        for key in PRICING_SCOPE_KEYS:
            if getattr(rule, key) is not None:
                cols += ["region", "region_name"] if key == "region" else [SCOPE_COLUMNS[key]]
    return list(dict.fromkeys(cols))


def _priced(relation: str, value: str, as_type: str = "HUGEINT", converts: bool = True) -> str:
    """``relation`` (with ``factor_u``, ``fx_u``) plus ``rated_u`` and ``amount_u`` of ``value``;
    ``converts`` False when every ``fx_u`` is exactly 1 (then ``amount_u`` is ``rated_u``)."""
    rated = mul_round_select(relation, value, "factor_u", "rated_u", as_type)
    if not converts:
        return f"SELECT *, rated_u AS amount_u FROM ({rated})"
    return mul_round_select(rated, "rated_u", "fx_u", "amount_u", as_type)


def _direct_sql(cfg: Config, direct: str) -> str:
    """The usage rows of ``_rt_fine`` from the priced direct sums (:mod:`rebill.rating.scan`)."""
    keys = "".join(f", {k}" for k in key_columns(cfg))
    return f"""
SELECT 'usage' AS kind, tenant_idx, CAST(NULL AS INTEGER) AS pool_idx, day, currency, provider,
  service{keys}, sum(cost_u) AS cost_u, sum(rated_u) AS rated_u, sum(amount_u) AS amount_u,
  sum(n) AS n, sum(quantity) AS quantity, min(unit_min) AS unit_min, max(unit_max) AS unit_max,
  sum(unit_n) AS unit_n
FROM {direct}
GROUP BY tenant_idx, day, currency, provider, service{keys}"""


def _build_classes(con: duckdb.DuckDBPyConnection, cfg: Config, rows: str, takers: str,
                   fx: str) -> None:
    """Number the pool rows that have takers, their classes, and each class's takers.

    ``rows`` has the ``_rt_rows`` shape of :mod:`rebill.rating.scan`: pool rows
    grouped by class columns and cost (``cost`` one row's, ``n`` rows).
    """
    cols = class_columns(cfg)
    listed = ", ".join(cols)
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_POOL_ROWS} AS
SELECT dense_rank() OVER (ORDER BY {listed}) AS class_id, {listed}, {to_units_sql("cost")} AS c, n
FROM {rows} r
WHERE target = 'pool' AND EXISTS (
  SELECT 1 FROM {takers} k WHERE k.pool_idx = r.pool_idx
    AND k.currency IS NOT DISTINCT FROM r.currency AND k.day IS NOT DISTINCT FROM r.day)""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_CLASSES} AS "
                f"SELECT DISTINCT class_id, {listed} FROM {_POOL_ROWS}")
    passthrough = cfg.rebill.provider_tax == "passthrough"
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_CLASS_TAKERS} AS
SELECT x.class_id, x.tenant_idx, x.w, x.big_w, x.factor_u, f.fx_u,
  CAST(x.w AS DOUBLE) / CAST(x.big_w AS DOUBLE) AS frac,
  row_number() OVER (PARTITION BY x.class_id ORDER BY x.w DESC, x.tenant_idx) = 1 AS is_top
FROM (
  SELECT c.*, k.tenant_idx, k.w, k.big_w, {factor_units_sql(cfg, passthrough)} AS factor_u,
    {tenant_currency_sql(cfg, "k.tenant_idx")} AS tenant_currency
  FROM {_CLASSES} c JOIN {takers} k
    ON k.pool_idx = c.pool_idx AND k.currency IS NOT DISTINCT FROM c.currency
   AND k.day IS NOT DISTINCT FROM c.day
) x JOIN {fx} f USING (currency, tenant_currency, day)""")
    # classes with the same takers and weights (most days of a month) split a cost alike:
    # one split group each, its takers those of its first class
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_SPLITS} AS
SELECT class_id, dense_rank() OVER (ORDER BY takers) AS split_id FROM (
  SELECT class_id, string_agg(tenant_idx || ':' || w || ':' || big_w, ',' ORDER BY tenant_idx)
    AS takers
  FROM {_CLASS_TAKERS} GROUP BY class_id)""")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_SPLIT_TAKERS} AS
SELECT s.split_id, t.tenant_idx, t.w, t.big_w, t.frac
FROM {_CLASS_TAKERS} t
JOIN (SELECT split_id, min(class_id) AS class_id FROM {_SPLITS} GROUP BY split_id) s
  USING (class_id)""")
    # each (class, cost) once, ``m`` rows of it, with the share of the class's top taker:
    # the largest |share|
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_POOL} AS
SELECT class_id, split_id, c, CAST(c AS DOUBLE) AS dc,
  abs(c) < {2**50} AS small, m, {share_units_sql("c", "w", "big_w")} AS s_star
FROM (SELECT p.class_id, s.split_id, p.c, p.m, t.w, t.big_w
      FROM (SELECT class_id, c, CAST(sum(n) AS BIGINT) AS m FROM {_POOL_ROWS}
            GROUP BY class_id, c) p
      JOIN {_SPLITS} s USING (class_id)
      JOIN {_CLASS_TAKERS} t ON t.class_id = p.class_id AND t.is_top)""")
    # each (split group, cost) once (``sid``): its shares, remainder and taker of it
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_SPLIT_POOL} AS
SELECT row_number() OVER () AS sid, * FROM (
  SELECT DISTINCT split_id, c, dc, small, s_star FROM {_POOL})""")


def _modes(con: duckdb.DuckDBPyConnection) -> tuple[str, bool]:
    """(BIGINT when every share, rated and converted share of the period fits in 63 bits,
    else HUGEINT; whether any taker's FX rate is not exactly 1). ``_rt_pool`` has rows."""
    c, f, fx, converts = con.execute(
        f"SELECT (SELECT max(abs(c)) FROM {_POOL}), max(abs(factor_u)), max(abs(fx_u)), "
        f"bool_or(fx_u <> {UNITS}) FROM {_CLASS_TAKERS}").fetchall()[0]
    bound = (int(c) * int(f) // UNITS + 1) * int(fx) // UNITS + 1
    return ("BIGINT" if bound < 2**62 else "HUGEINT"), bool(converts)


def _shared_sql(cfg: Config, as_type: str, converts: bool) -> tuple[str, str, str]:
    """(per class and tenant the priced shares, remainders moved; the share stream; the
    same stream unpriced)."""
    share = share_units_sql("c", "w", "big_w")
    # per (split group, cost): the sum of the shares (the remainder) and who takes it
    split = split_select(f"""
SELECT p.sid, p.c, p.dc, p.small, CAST(p.s_star AS {as_type}) AS s_star, t.tenant_idx, t.w,
  t.big_w, t.frac
FROM {_SPLIT_POOL} p JOIN {_SPLIT_TAKERS} t USING (split_id)""", "dc", "frac", "small", share,
                         "s", as_type)
    # per (class, cost) and taker: the share, priced
    stream = _priced(split_select(f"""
SELECT p.class_id, p.c, p.dc, p.small, p.m, CAST(p.s_star AS {as_type}) AS s_star,
  t.tenant_idx, t.w, t.big_w, t.frac, CAST(t.factor_u AS {as_type}) AS factor_u,
  CAST(t.fx_u AS {as_type}) AS fx_u
FROM {_POOL_SCAN} p JOIN {_CLASS_TAKERS} t USING (class_id)""", "dc", "frac", "small", share,
                                  "s", as_type), "s", as_type, converts)
    # the remainder's taker: the first tenant whose share equals the largest one
    moved = f"""
SELECT x.class_id, t.tenant_idx, t.factor_u, t.fx_u, x.m, x.s_star, x.s_star + x.rest AS s_new
FROM (SELECT p.class_id, p.m, p.s_star, p.c - s.cost_u AS rest, s.winner
      FROM {_POOL} p JOIN {_SPLIT_POOL} q USING (split_id, c) JOIN {_ROW_SUMS} s USING (sid)
      WHERE p.c <> s.cost_u) x
JOIN {_CLASS_TAKERS} t ON t.class_id = x.class_id AND t.tenant_idx = x.winner"""
    before = f"SELECT * EXCLUDE (rated_u, amount_u), rated_u AS rated_old, amount_u AS amount_old " \
             f"FROM ({_priced(moved, 's_star', converts=converts)})"
    fix = f"""
SELECT class_id, tenant_idx, (s_new - s_star) * m AS cost_u, (rated_u - rated_old) * m AS rated_u,
  (amount_u - amount_old) * m AS amount_u, 0 AS n
FROM ({_priced(before, "s_new", converts=converts)})"""
    nulls = "".join(f", CAST(NULL AS VARCHAR) AS {k}" for k in key_columns(cfg))
    return f"""
SELECT 'shared' AS kind, tenant_idx, pool_idx, day, currency, provider, service{nulls},
  sum(cost_u) AS cost_u, sum(rated_u) AS rated_u, sum(amount_u) AS amount_u, sum(n) AS n,
  CAST(NULL AS DECIMAL(38,12)) AS quantity, CAST(NULL AS VARCHAR) AS unit_min,
  CAST(NULL AS VARCHAR) AS unit_max, CAST(0 AS BIGINT) AS unit_n
FROM (
  SELECT class_id, tenant_idx, cost_u * m AS cost_u, rated_u * m AS rated_u,
    amount_u * m AS amount_u, n * m AS n
  FROM {_SHARE_SUMS}
  UNION ALL {fix}
) JOIN {_CLASSES} USING (class_id)
GROUP BY tenant_idx, pool_idx, day, currency, provider, service""", stream, split


def build_fine(con: duckdb.DuckDBPyConnection, cfg: Config, direct_sums: str, rows: str,
               takers: str, fx: str) -> None:
    """Create ``_rt_fine`` from the direct sums, ``rows`` (the other rows, ``_rt_rows``
    shape), ``takers`` and ``fx`` (relations)."""
    direct = _direct_sql(cfg, direct_sums)
    if not cfg.shared:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FINE} AS {direct}")
        return
    _build_classes(con, cfg, rows, takers, fx)
    n = int(con.execute(f"SELECT count(*) FROM {_POOL}").fetchall()[0][0])
    if n == 0:  # no pool row with a taker: nothing to split (and no big query to plan)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FINE} AS {direct}")
        return
    _even_scan(con, n)
    try:
        shared, stream, split = _shared_sql(cfg, *_modes(con))
        # two streams, each summed as it flows: per row (its remainder and who takes it)
        # and, priced, per class and tenant. Splitting twice is cheaper than one stream
        # feeding two aggregates (DuckDB's GROUPING SETS fan-out).
        con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_ROW_SUMS} AS
SELECT sid, sum(s) AS cost_u, min(tenant_idx) FILTER (WHERE s = s_star) AS winner
FROM ({split}) GROUP BY sid""")
        con.execute(f"""
CREATE OR REPLACE TEMP TABLE {_SHARE_SUMS} AS
SELECT class_id, tenant_idx, m, sum(s) AS cost_u, sum(rated_u) AS rated_u,
  sum(amount_u) AS amount_u, count(*) AS n
FROM ({stream}) GROUP BY class_id, tenant_idx, m""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FINE} AS {direct} UNION ALL BY NAME "
                    f"{shared}")
    finally:  # a failed query too: the caller's connection keeps no scan of _rt_pool
        with contextlib.suppress(duckdb.Error):  # the query's own error is the one to tell
            con.execute(f"DROP VIEW IF EXISTS {_POOL_SCAN}")
            con.unregister(_POOL_ARROW)


def _even_scan(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """Name ``_rt_pool`` as ``_rt_pool_scan``, from 32 Arrow batches when it is small.

    Arrow holds a HUGEINT as DECIMAL(38,0): each column is cast back to its
    type, so the exact fallbacks compute on integers, never on decimals.
    """
    if n >= _ARROW_BELOW:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_POOL_SCAN} AS SELECT * FROM {_POOL}")
        return
    table = con.sql(f"SELECT * FROM {_POOL}").to_arrow_table()
    con.register(_POOL_ARROW, pa.Table.from_batches(
        table.to_batches(max_chunksize=max(2048, -(-n // 32))), table.schema))
    typed = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in con.execute(
        f"SELECT column_name, column_type FROM (DESCRIBE {_POOL})").fetchall())
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_POOL_SCAN} AS SELECT {typed} FROM {_POOL_ARROW}")


def sums_sql(expr: str) -> str:
    """A HUGEINT sum of units as DECIMAL(38,12)."""
    return from_units_sql(f"sum({expr})")
