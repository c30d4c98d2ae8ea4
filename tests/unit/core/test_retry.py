"""rebill.retry: the one retry layer (server hints, caps, bounds, only retriable errors)."""

from __future__ import annotations

import pytest

from rebill.errors import RetriableConnectorError
from rebill.retry import Retriable, Retry, call, status_verdict, try_later, wait_hint


def test_wait_prefers_retry_after_then_reset_and_caps() -> None:
    clock = lambda: 1000.0  # noqa: E731
    policy = Retry(cap=60, clock=clock)
    assert wait_hint({"Retry-After": "7"}, clock) == 7
    assert wait_hint({"ratelimit-reset": "1012"}, clock) == 12
    assert wait_hint({"X-RateLimit-Reset": "990"}, clock) == -10
    assert policy.delay(0, wait_hint({"X-RateLimit-Reset": "990"}, clock)) == 0
    assert policy.delay(0, wait_hint({"retry-after": "3600"}, clock)) == 60
    assert wait_hint({"Retry-After": "Thu, 01 Jan 1970 00:16:50 GMT"}, clock) == 10
    assert wait_hint({}, clock) is None
    assert 2 <= policy.delay(2) <= 4


def test_only_timeouts_throttling_and_server_errors_are_retriable() -> None:
    assert status_verdict(429, {"Retry-After": "3"}) == Retriable("HTTP 429", 3.0)
    assert status_verdict(503) == Retriable("HTTP 503", None)
    assert status_verdict(400) is None and status_verdict(401) is None and status_verdict(404) is None


class HttpBoomError(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def test_retries_are_bounded_and_only_for_retriable_statuses() -> None:
    calls: list[int] = []
    waits: list[float] = []
    policy = Retry(attempts=4, sleep=waits.append)

    def fail() -> None:
        calls.append(1)
        raise HttpBoomError(429)

    def classify(exc: Exception) -> Retriable | None:
        return status_verdict(exc.status, {"Retry-After": "1"}) if isinstance(exc, HttpBoomError) else None

    with pytest.raises(RetriableConnectorError, match="x: HTTP 429 after 4 attempts; try again later"):
        call(fail, catch=(HttpBoomError,), classify=classify, what="x", policy=policy,
             give_up=try_later("x"))
    assert len(calls) == 4 and waits == [1.0, 1.0, 1.0]

    def bad() -> None:
        calls.append(1)
        raise HttpBoomError(400)

    calls.clear()
    with pytest.raises(HttpBoomError):
        call(bad, catch=(HttpBoomError,), classify=classify, what="x", policy=policy)
    assert len(calls) == 1


def test_without_give_up_the_last_error_surfaces() -> None:
    policy = Retry(attempts=2, sleep=lambda s: None)

    def fail() -> None:
        raise HttpBoomError(503)

    with pytest.raises(HttpBoomError):
        call(fail, catch=(HttpBoomError,), classify=lambda e: Retriable("503"), what="x", policy=policy)
