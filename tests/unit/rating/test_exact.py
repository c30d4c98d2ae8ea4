"""The fast exact SQL arithmetic equals Python's exact integer/Decimal arithmetic."""

from __future__ import annotations

from decimal import Context
from decimal import Decimal as D

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from rebill.rating.exact import (
    UNITS,
    from_units_sql,
    mul_round_select,
    mul_round_sql,
    share_sql,
    split_select,
    to_units_sql,
)


def _half_away(num: int, den: int) -> int:
    """round_half_away(num / den), den > 0."""
    q, r = divmod(abs(num), den)
    q += 2 * r >= den
    return q if num >= 0 else -q


def _con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


money = st.one_of(
    st.decimals(min_value=D("-999.999999999999"), max_value=D("999.999999999999"), places=12),
    st.decimals(min_value=D("-1e25"), max_value=D("1e25"), places=12),
    st.sampled_from([D("0"), D("999.999999999999"), D("-999.999999999999"), D("1000"),
                     D("0.000000000001"), D("-0.000000000001"), D("9223372.036854775807")]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(money, min_size=1, max_size=50))
def test_to_and_from_units(values):
    con = _con()
    con.execute("CREATE TABLE t (i INTEGER, v DECIMAL(38,12))")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    got = con.execute(f"SELECT i, {to_units_sql('v')}, {from_units_sql(to_units_sql('v'))} "
                      "FROM t ORDER BY i").fetchall()
    for (_, units, back), v in zip(got, values, strict=True):
        assert units == int(v.scaleb(12, Context(prec=60)))
        assert back == v


ints = st.one_of(
    st.integers(-(10**13), 10**13), st.integers(-(10**17), 10**17),
    st.integers(-(10**24), 10**24),
    st.sampled_from([0, 1, -1, 5 * 10**11, -5 * 10**11, 10**12, 10**13 - 1, 10**17 - 1, 10**17]),
)


@st.composite
def priced(draw):
    """A money value times a factor (markup, FX), often an exact half away from a unit."""
    u = draw(st.integers(-(2**50), 2**50))
    f = draw(st.one_of(st.integers(0, 3 * 10**12).map(lambda f: f - f % 10**9),
                       st.integers(1, 2**50), st.integers(-(2**50), 0)))
    if draw(st.booleans()):  # u * f / 1e12 = k + 1/2
        f = draw(st.sampled_from([5 * 10**11, 15 * 10**11, 25 * 10**11]))
        u = 2 * draw(st.integers(-(2**40), 2**40)) + 1
    return u, f


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.tuples(ints, ints), priced())
                .filter(lambda p: abs(p[0] * p[1]) < 2**125), min_size=1, max_size=50))
def test_mul_round(pairs):
    con = _con()
    con.execute("CREATE TABLE t (i INTEGER, u HUGEINT, f HUGEINT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, u, f) for i, (u, f) in enumerate(pairs)])
    got = con.execute(f"SELECT {mul_round_sql('u', 'f')}, r FROM "
                      f"({mul_round_select('SELECT * FROM t', 'u', 'f', 'r')}) ORDER BY i"
                      ).fetchall()
    for (value, staged), (u, f) in zip(got, pairs, strict=True):
        assert value == staged == _half_away(u * f, UNITS)


@st.composite
def splits(draw):
    big_w = draw(st.one_of(st.integers(1, 10**6), st.integers(1, 10**22)))
    w = draw(st.integers(1, big_w))
    ac = draw(st.one_of(st.integers(0, 10**15), st.integers(0, 2**62), st.integers(0, 2**51)))
    if draw(st.booleans()):  # aim at an exact half: ac * w / big_w = k + 1/2
        k = draw(st.integers(0, 10**9))
        big_w = 2 * draw(st.integers(1, 10**6))
        w = big_w // 2
        ac = 2 * k + 1
    return ac, w, big_w


@settings(max_examples=300, deadline=None)
@given(st.lists(splits(), min_size=1, max_size=50))
def test_share(rows):
    con = _con()
    con.execute("CREATE TABLE t (i INTEGER, ac HUGEINT, w HUGEINT, big_w HUGEINT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)",
                    [(i, *r) for i, r in enumerate(rows)])
    exact = "(2 * ac * w + big_w) // (2 * big_w)"
    got = con.execute(f"SELECT {share_sql('ac', 'w', 'big_w', exact)} FROM t ORDER BY i").fetchall()
    for (value,), (ac, w, big_w) in zip(got, rows, strict=True):
        assert value == _half_away(ac * w, big_w)
    # staged, signed: the same answers for c and -c
    staged = split_select(
        "SELECT *, CAST(c AS DOUBLE) AS dc, CAST(w AS DOUBLE) / CAST(big_w AS DOUBLE) AS frac, "
        f"abs(c) < {2**50} AS small FROM (SELECT *, ac AS c FROM t UNION ALL "
        "SELECT *, -ac FROM t)", "dc", "frac", "small",
        "CASE WHEN c < 0 THEN -1 ELSE 1 END * ((2 * abs(c) * w + big_w) // (2 * big_w))", "s")
    got = con.execute(f"SELECT i, c, s FROM ({staged}) ORDER BY i, c").fetchall()
    for i, c, value in got:
        ac, w, big_w = rows[i]
        assert value == (1 if c >= 0 else -1) * _half_away(ac * w, big_w)
