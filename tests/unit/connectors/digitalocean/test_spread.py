"""connectors.spread: exact day shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rebill.connectors.spread import spread, spread_days_evenly

T0 = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(("amount", "start", "end", "expected"), [
    # whole days: equal shares, remainder on the last day
    (Decimal("10.00"), T0, T0 + timedelta(days=3),
     [Decimal("3.333333333333"), Decimal("3.333333333333"), Decimal("3.333333333334")]),
    # 18h on day 1, 6h on day 2
    (Decimal("2.40"), T0 + timedelta(hours=6), T0 + timedelta(days=1, hours=6),
     [Decimal("1.800000000000"), Decimal("0.600000000000")]),
    # a credit spreads like a charge
    (Decimal("-1.00"), T0, T0 + timedelta(days=3),
     [Decimal("-0.333333333333"), Decimal("-0.333333333333"), Decimal("-0.333333333334")]),
    # empty span: everything on the start's day
    (Decimal("5.55"), T0 + timedelta(hours=3), T0 + timedelta(hours=3), [Decimal("5.55")]),
])
def test_spread_table(amount: Decimal, start: datetime, end: datetime,
                      expected: list[Decimal]) -> None:
    shares = spread(amount, start, end)
    assert [s.amount for s in shares] == expected
    assert sum(s.amount for s in shares) == amount
    assert all(s.start < s.end for s in shares)


@given(
    cents=st.integers(min_value=-10**9, max_value=10**9),
    offset=st.integers(min_value=0, max_value=86400 * 40),
    length=st.integers(min_value=1, max_value=86400 * 40),
)
def test_spread_is_exact_and_contiguous(cents: int, offset: int, length: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    start = T0 + timedelta(seconds=offset)
    end = start + timedelta(seconds=length)
    shares = spread(amount, start, end)
    assert sum(s.amount for s in shares) == amount
    assert shares[0].start == start and shares[-1].end == end
    assert all(a.end == b.start for a, b in pairwise(shares))
    assert all(s.amount == s.amount.quantize(Decimal("1e-12")) for s in shares)
    assert all(s.start.date() == (s.end - timedelta(microseconds=1)).date() for s in shares)


def test_spread_days_evenly() -> None:
    shares = spread_days_evenly(Decimal("41.37"), T0 + timedelta(hours=5), 20)
    assert len(shares) == 20 and shares[0].start == T0
    assert sum(s.amount for s in shares) == Decimal("41.37")
