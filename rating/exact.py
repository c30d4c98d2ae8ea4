"""Exact money arithmetic in DuckDB at 64-bit speed (SQL builders).

Rating multiplies every rated row by a factor and rounds it to 12 decimals,
and splits pool rows into shares ``round(c * w / W)``. Done on DECIMAL(38,12)
or HUGEINT, DuckDB rescales and divides 128-bit values bit by bit: about 1.5
microseconds a value, 95 s for 50M shares. Here every value is an integer
count of 1e-12 units and each operation has a fast path whose result is
provably the exact one, plus an exact 128-bit fallback for the rare values
outside the fast path's range (DuckDB's CASE evaluates a branch only for the
rows that take it):

* ``to_units``: |cost| < 1000 has at most 15 significant digits; as
  DECIMAL(18,12) it is a 64-bit integer v (exact), DuckDB's DOUBLE of it is
  v / 1e12 correctly rounded, and times 1e12 again is within
  v * 3 * 2^-53 < 0.34 of v, so rounding it gives v exactly. Larger values
  go through their (12-decimal) text.
* ``mul_round``: round_half_away(u * f / 1e12) for integers u, f. First the
  same checked DOUBLE estimate as ``share`` (x = |u| * (|f| / 1e12): three
  roundings, |u|, |f| and x below 2^50); where it cannot be trusted, with
  u = a 1e6 + b and f = c 1e6 + d (0 <= b, d < 1e6), u f = a c 1e12 +
  (a d + b c) 1e6 + b d; with |u| < 1e17, |f| < 1e17 and one of them < 1e13
  every partial product fits in 63 bits, so quotient and remainder by 1e12
  are computed exactly in BIGINT.
* ``share``: round_half_away(|c| w / W). x = |c| * (w / W) in DOUBLE carries
  at most 4 roundings, a relative error below 2^-50; when |c| < 2^50 and the
  fraction of x is further than x 2^-46 + 2^-30 from one half, floor(x + 0.5)
  is the exactly rounded quotient (only a fraction of exactly one half flips
  the result). Otherwise (one share in a few hundred) the exact HUGEINT
  division runs.

The property tests (tests/unit/rating/test_exact.py) check each against
Python's exact ``Decimal``/``int`` arithmetic, boundary cases included.
"""

from __future__ import annotations

UNITS = 10**12
_M = 10**6
_HALF = 5 * 10**11
_FAST_UNITS = 10**17  # |u| and |f| below this, and one of them below _SMALL
_SMALL = 10**13
_SHARE_FAST = 2**50


def to_units_sql(expr: str, as_type: str = "HUGEINT") -> str:
    """DECIMAL(38,12) -> HUGEINT units of 1e-12 (exact); ``as_type`` BIGINT when they fit."""
    return (
        f"CASE WHEN abs({expr}) < 1000 THEN CAST(CAST(round(CAST(CAST({expr} AS DECIMAL(18,12)) "
        f"AS DOUBLE) * 1e12) AS BIGINT) AS {as_type}) "
        f"ELSE CAST(replace(CAST(CAST({expr} AS DECIMAL(38,12)) AS VARCHAR), '.', '') "
        f"AS {as_type}) END"
    )


def from_units_sql(expr: str) -> str:
    """HUGEINT units of 1e-12 -> DECIMAL(38,12) (exact, no division)."""
    return (
        f"CAST(CAST({expr} AS DECIMAL(38,0)) * CAST('0.000000000001' AS DECIMAL(13,12)) "
        "AS DECIMAL(38,12))"
    )


def mul_round_sql(u: str, f: str) -> str:
    """round_half_away(u * f / 1e12) for HUGEINT expressions u, f (column names: repeated)."""
    au, af = f"CAST(abs({u}) AS BIGINT)", f"CAST(abs({f}) AS BIGINT)"
    a, b = f"({au} // {_M})", f"({au} % {_M})"
    c, d = f"({af} // {_M})", f"({af} % {_M})"
    t = f"({a} * {d} + {b} * {c})"
    low = f"(({t} % {_M}) * {_M} + {b} * {d})"
    fast = (f"({a} * {c} + {t} // {_M} + {low} // {UNITS} + "
            f"CASE WHEN {low} % {UNITS} >= {_HALF} THEN 1 ELSE 0 END)")
    exact = (f"((2 * CAST(abs({u}) AS HUGEINT) * CAST(abs({f}) AS HUGEINT) + {UNITS}) "
             f"// {2 * UNITS})")
    in_range = (f"abs({u}) < {_FAST_UNITS} AND abs({f}) < {_FAST_UNITS} "
                f"AND (abs({u}) < {_SMALL} OR abs({f}) < {_SMALL})")
    sign = f"CASE WHEN ({u} < 0) <> ({f} < 0) THEN -1 ELSE 1 END"
    x = f"(CAST(abs({u}) AS DOUBLE) * (CAST(abs({f}) AS DOUBLE) / 1e12))"
    trusted = (f"abs({u}) < {_SHARE_FAST} AND abs({f}) < {_SHARE_FAST} AND {x} < {_SHARE_FAST} "
               f"AND abs({x} - floor({x}) - 0.5) > {x} * {2.0**-46!r} + {2.0**-30!r}")
    return (f"({sign} * CASE WHEN {trusted} THEN CAST(CAST(floor({x} + 0.5) AS BIGINT) AS HUGEINT) "
            f"WHEN {in_range} THEN CAST({fast} AS HUGEINT) ELSE {exact} END)")


def share_sql(ac: str, w: str, big_w: str, exact: str) -> str:
    """round_half_away(ac * w / big_w) for ac >= 0, 0 < w <= big_w (HUGEINT columns).

    ``exact`` is the exact HUGEINT expression, evaluated only where the DOUBLE
    estimate cannot be trusted.
    """
    x = f"(CAST({ac} AS DOUBLE) * (CAST({w} AS DOUBLE) / CAST({big_w} AS DOUBLE)))"
    trusted = (f"{ac} < {_SHARE_FAST} AND abs({x} - floor({x}) - 0.5) > "
               f"{x} * {2.0**-46!r} + {2.0**-30!r}")
    return f"CASE WHEN {trusted} THEN CAST(CAST(floor({x} + 0.5) AS BIGINT) AS HUGEINT) ELSE {exact} END"


def _trusted_sql(x: str) -> str:
    """The DOUBLE estimate ``x`` (at most 3 roundings of exact inputs) rounds to the
    exact integer: |x| < 2^50 and its fraction is clear of one half."""
    return (f"abs({x}) < {_SHARE_FAST} AND abs(abs({x}) - floor(abs({x})) - 0.5) > "
            f"abs({x}) * {2.0**-46!r} + {2.0**-30!r}")


def mul_round_select(relation: str, u: str, f: str, out: str, as_type: str = "HUGEINT") -> str:
    """``relation`` plus ``out`` = :func:`mul_round_sql` of columns ``u``, ``f``.

    The same values, computed in two projections so each row's DOUBLE estimate
    is computed once; a factor of exactly 1 leaves ``u`` unchanged. ``as_type``
    BIGINT when the caller knows every result fits in 63 bits (faster sums).
    """
    trusted = (f"abs(_mr_u) < {2**53} AND abs(_mr_f) < {2**53} AND {_trusted_sql('_mr_x')}")
    return f"""
SELECT * EXCLUDE (_mr_u, _mr_f, _mr_x),
  CASE WHEN {f} = {UNITS} THEN CAST({u} AS {as_type})
       WHEN {trusted} THEN CAST(CAST(_mr_x AS BIGINT) AS {as_type})
       ELSE CAST({mul_round_sql(u, f)} AS {as_type}) END AS {out}
FROM (
  SELECT *, CAST({u} AS DOUBLE) AS _mr_u, CAST({f} AS DOUBLE) AS _mr_f,
    CAST({u} AS DOUBLE) * (CAST({f} AS DOUBLE) / 1e12) AS _mr_x
  FROM ({relation})
)"""


def split_select(relation: str, dc: str, frac: str, small: str, exact: str, out: str,
                 as_type: str = "HUGEINT") -> str:
    """``relation`` plus ``out`` = round_half_away(c * w / W), signed like c.

    ``dc`` is the column DOUBLE(c), ``frac`` DOUBLE(w) / DOUBLE(W), ``small`` |c| < 2^50,
    ``exact`` the exact expression for the rows the estimate cannot settle: the
    same estimate and the same answers as :func:`share_sql`, with the division
    done once per taker instead of once per share. ``as_type`` as in
    :func:`mul_round_select`.
    """
    return f"""
SELECT * EXCLUDE (_sp_x),
  CASE WHEN {small} AND {_trusted_sql('_sp_x')} THEN CAST(CAST(_sp_x AS BIGINT) AS {as_type})
       ELSE CAST({exact} AS {as_type}) END AS {out}
FROM (SELECT *, {dc} * {frac} AS _sp_x FROM ({relation}))"""
