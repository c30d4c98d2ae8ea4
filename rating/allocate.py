"""Allocation of shared-pool rows to tenants (DESIGN "Rating semantics" rule 4).

Each pool row is split among the pool's tenants active on the row's day with
a positive weight: 1 each (``even``), the configured weight (``weights``), or
the tenant's basis (``proportional``: the sum of the cost of its direct,
non-tax rows of the period in the pool row's currency). The arithmetic is
exact integer arithmetic on HUGEINT in units of 1e-12:

    share_i = round_half_away(cost * w_i / W)          (12 decimals)
    the remainder cost - sum(share_i) goes to the share with the largest
    absolute value (tie: the tenant first in file order)

The takers of a pool row and their total W depend only on (pool, currency,
day), so they are computed once per such key. While ``2|cost| w_i + W`` fits
in 127 bits the rounded quotient is one HUGEINT division; beyond that it is
computed by long division in base 1e11, exact while W < 1e22 units (a basis
of ten billion per currency), which is checked.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from rebill.config import Config, SharedPool
from rebill.errors import RatingError
from rebill.rating.attribute import ROWS
from rebill.rating.exact import from_units_sql, share_sql, to_units_sql

TAKERS = "_rt_takers"
UNITS = 10**12
MAX_TOTAL_WEIGHT = 10**22
_K = 10**11
_FAST = 2**62  # |c| and w below this: 2|c|w + W < 2^127, one exact HUGEINT division


def _weight_units(pool: SharedPool) -> dict[str, int]:
    """Integer weights with the same ratios as the configured ones."""
    weights = pool.weights or {}
    scale = max((max(0, -int(w.as_tuple().exponent)) for w in weights.values()), default=0)
    return {t: int(w.scaleb(scale)) for t, w in weights.items()}


def pool_members(cfg: Config) -> list[tuple[int, int, int | None]]:
    """(pool_idx, tenant_idx, weight units or None for proportional) in file order."""
    index = {t.id: i for i, t in enumerate(cfg.tenants)}
    out: list[tuple[int, int, int | None]] = []
    for p_idx, pool in enumerate(cfg.shared):
        allowed = set(pool.tenants) if pool.tenants is not None else set(index)
        weights = _weight_units(pool) if pool.allocate == "weights" else {}
        for t_idx, tenant in enumerate(cfg.tenants):
            if tenant.id not in allowed:
                continue
            if pool.allocate == "even":
                out.append((p_idx, t_idx, 1))
            elif pool.allocate == "weights":
                if weights.get(tenant.id, 0) > 0:
                    out.append((p_idx, t_idx, weights[tenant.id]))
            else:
                out.append((p_idx, t_idx, None))
    return out


def build_takers(con: duckdb.DuckDBPyConnection, cfg: Config, direct: str) -> None:
    """Create ``_rt_takers(pool_idx, currency, day, tenant_idx, w, big_w)`` from ``_rt_rows``
    (the pool rows) and ``direct`` (the direct sums of :mod:`rebill.rating.scan`: the basis).

    Who takes a share of a pool row, and with which weight, depends only on
    (pool, currency, day): the takers and their total W are computed once per
    such key, not per pool row. This small table is all a view needs to split
    any pool row of the period again (:func:`shares_sql`).
    """
    members = pool_members(cfg)
    values = ", ".join(
        f"({p}, {t}, {'NULL' if w is None else f'CAST({w} AS HUGEINT)'})" for p, t, w in members
    ) or "(NULL, NULL, NULL)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rt_members AS SELECT CAST(pool_idx AS INTEGER) AS pool_idx, "
        "CAST(tenant_idx AS INTEGER) AS tenant_idx, CAST(weight AS HUGEINT) AS weight "
        f"FROM (VALUES {values}) v(pool_idx, tenant_idx, weight) WHERE pool_idx IS NOT NULL"
    )
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE _rt_basis AS
SELECT tenant_idx, currency, sum(cost_u) AS basis
FROM {direct} WHERE NOT is_tax GROUP BY tenant_idx, currency""")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {TAKERS} AS
SELECT *, sum(w) OVER (PARTITION BY pool_idx, currency, day) AS big_w
FROM (
  SELECT k.pool_idx, k.currency, k.day, m.tenant_idx, coalesce(m.weight, b.basis) AS w
  FROM (SELECT DISTINCT pool_idx, currency, day FROM {ROWS} WHERE target = 'pool') k
  JOIN _rt_members m ON m.pool_idx = k.pool_idx
  JOIN _rt_tenants t ON t.tenant_idx = m.tenant_idx
   AND (t.start_day IS NULL OR k.day >= t.start_day) AND (t.end_day IS NULL OR k.day < t.end_day)
  LEFT JOIN _rt_basis b ON b.tenant_idx = m.tenant_idx AND b.currency = k.currency
) WHERE w > 0
ORDER BY pool_idx, currency, day, tenant_idx""")
    too_big = con.execute(
        f"SELECT count(*) FROM {TAKERS} WHERE big_w >= CAST('{MAX_TOTAL_WEIGHT}' AS HUGEINT)"
    ).fetchall()
    if too_big[0][0]:
        raise RatingError(
            f"shared pool allocation: total weight or basis of {Decimal(MAX_TOTAL_WEIGHT) / UNITS} "
            "or more per currency is beyond exact allocation"
        )


def share_units_sql(c: str, w: str, big_w: str) -> str:
    """round_half_away(c * w / W), signed like ``c`` (HUGEINT columns, 0 < w <= W < 1e22).

    One HUGEINT division while 2|c|w + W fits in 127 bits (|c|, w < 2^62;
    the common case takes :func:`share_sql`'s checked 64-bit path first), else
    long division in base K: a = |c| // W, b = |c| % W, w = w1 * K + w0, giving
    floor(|c| w / W) plus one when the remainder >= W / 2. Column names only
    (they are repeated).
    """
    ac = f"abs({c})"
    fast = share_sql(ac, w, big_w, f"(2 * {ac} * {w} + {big_w}) // (2 * {big_w})")
    b = f"({ac} % {big_w})"
    t1 = f"({b} * ({w} // {_K}))"
    t2 = f"(({t1} % {big_w}) * {_K} + {b} * ({w} % {_K}))"
    slow = (f"({ac} // {big_w}) * {w} + ({t1} // {big_w}) * {_K} + {t2} // {big_w} + "
            f"CASE WHEN 2 * ({t2} % {big_w}) >= {big_w} THEN 1 ELSE 0 END")
    x = f"CASE WHEN {ac} < {_FAST} AND {w} < {_FAST} THEN {fast} ELSE {slow} END"
    return f"(CASE WHEN {c} < 0 THEN -({x}) ELSE {x} END)"


def shares_sql(rows: str, takers: str) -> str:
    """SQL: every pool row of ``rows`` with takers, once per taker: the row's columns with
    ``tenant_idx`` the taker, ``cost`` its share and ``cost_u`` the share in units.

    ``rows`` has the ``_rt_rows`` shape, ``takers`` the ``_rt_takers`` one. Each
    share is :func:`share_units_sql`; the remainder goes to the largest |share|
    (tie: the first tenant in file order).
    """
    return f"""
WITH taken AS (
  SELECT r.* EXCLUDE (tenant_idx, tags), {to_units_sql("r.cost")} AS c, w.tenant_idx, w.w, w.big_w
  FROM ({rows}) r JOIN {takers} w
    ON w.pool_idx = r.pool_idx AND w.currency IS NOT DISTINCT FROM r.currency
   AND w.day IS NOT DISTINCT FROM r.day
  WHERE r.target = 'pool'
), rounded AS (
  SELECT * EXCLUDE (w, big_w), {share_units_sql("c", "w", "big_w")} AS share FROM taken
), fix AS (
  SELECT x_source, x_row_id, any_value(c) - sum(share) AS rest,
         arg_max(tenant_idx, {{'a': abs(share), 'b': -tenant_idx}}) AS largest
  FROM rounded GROUP BY x_source, x_row_id
)
SELECT * EXCLUDE (cost, c, share), cost_u, {from_units_sql("cost_u")} AS cost
FROM (
  SELECT r.*, r.share + CASE WHEN r.tenant_idx = f.largest THEN f.rest ELSE 0 END AS cost_u
  FROM rounded r JOIN fix f USING (x_source, x_row_id)
)"""
