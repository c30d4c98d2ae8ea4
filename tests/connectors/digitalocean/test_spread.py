"""connectors.spread and connectors.http_retry: exact day shares, bounded waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rebill.connectors.http_retry import RetryPolicy, Throttle, call_with_retries, wait_seconds
from rebill.connectors.spread import spread, spread_days_evenly
from rebill.errors import RetriableConnectorError

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


def test_wait_prefers_retry_after_then_reset_and_caps() -> None:
    policy = RetryPolicy(max_wait=60, clock=lambda: 1000.0)
    assert wait_seconds(Throttle(429, {"Retry-After": "7"}), 0, policy) == 7
    assert wait_seconds(Throttle(429, {"ratelimit-reset": "1012"}), 0, policy) == 12
    assert wait_seconds(Throttle(429, {"X-RateLimit-Reset": "990"}), 0, policy) == 0
    assert wait_seconds(Throttle(429, {"retry-after": "3600"}), 0, policy) == 60
    backoff = wait_seconds(Throttle(503, {}), 2, policy)
    assert 2 <= backoff <= 4


class HttpBoomError(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def test_retries_are_bounded_and_only_for_retriable_statuses() -> None:
    calls: list[int] = []
    waits: list[float] = []
    policy = RetryPolicy(retries=3, sleep=waits.append)

    def fail() -> None:
        calls.append(1)
        raise HttpBoomError(429)

    def of(exc: BaseException) -> Throttle | None:
        return Throttle(exc.status, {"Retry-After": "1"}) if isinstance(exc, HttpBoomError) else None

    with pytest.raises(RetriableConnectorError, match="x: HTTP 429 after 3 retries"):
        call_with_retries(fail, catch=(HttpBoomError,), throttle_of=of, what="x", policy=policy)
    assert len(calls) == 4 and waits == [1.0, 1.0, 1.0]

    def bad() -> None:
        raise HttpBoomError(400)

    with pytest.raises(HttpBoomError):
        call_with_retries(bad, catch=(HttpBoomError,), throttle_of=of, what="x", policy=policy)
