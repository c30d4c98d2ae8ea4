"""The one retry layer of every remote call: connectors and exporters alike.

A caller says once which failures may be repeated (``classify``: a
:class:`Retriable` verdict, or None for an error that must surface at once:
auth, not found, bad request, a create whose outcome is unknown). This
module then waits and repeats, bounded: it honours the server's
``Retry-After`` (seconds or an HTTP date) and ``ratelimit-reset`` /
``X-RateLimit-Reset`` (epoch seconds), else backs off exponentially with
jitter, caps every wait, and gives up after ``attempts`` calls. SDK retries
are switched off where rebill builds its clients, so a call is never retried
by two layers; Prefect's task retries re-run a whole load later, and only
for retriable errors.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from rebill.errors import RetriableConnectorError

log = logging.getLogger("rebill.retry")
T = TypeVar("T")

# HTTP statuses that mean "not now": timeout, throttled, server-side trouble
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class Retry:
    """How often and how long: ``attempts`` calls in all, waits ``base * 2**n`` ± jitter, capped."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.time)

    def delay(self, attempt: int, hint: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based); ``hint`` is the server's."""
        if hint is not None:
            return min(max(hint, 0.0), self.cap)
        return float(min(self.cap, self.base * 2**attempt * (0.5 + random.random() / 2)))


@dataclass(frozen=True)
class Retriable:
    """A failure that may be repeated: what happened, and how long the server asked to wait."""

    reason: str
    wait: float | None = None


def wait_hint(headers: Mapping[str, str], clock: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asked for: ``Retry-After``, else a rate-limit reset time; None if neither."""
    lowered = {k.lower(): v.strip() for k, v in headers.items() if isinstance(v, str) and v.strip()}
    after = lowered.get("retry-after")
    if after is not None:
        try:
            return float(after)
        except ValueError:
            try:
                return parsedate_to_datetime(after).timestamp() - clock()
            except (TypeError, ValueError):
                pass
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        reset = lowered.get(name)
        if reset is not None:
            try:
                return float(reset) - clock()
            except ValueError:
                continue
    return None


def status_verdict(status: int, headers: Mapping[str, str] | None = None,
                   clock: Callable[[], float] = time.time) -> Retriable | None:
    """The verdict for an HTTP answer: retriable for 408/429/5xx (with the server's wait)."""
    if status not in RETRY_STATUSES:
        return None
    return Retriable(f"HTTP {status}", wait_hint(headers or {}, clock))


def call(fn: Callable[[], T], *, catch: tuple[type[Exception], ...],
         classify: Callable[[Exception], Retriable | None], policy: Retry, what: str,
         give_up: Callable[[Exception, Retriable, int], Exception] | None = None) -> T:
    """``fn()``, repeated while it raises a ``catch`` error that ``classify`` calls retriable.

    After ``policy.attempts`` calls the last error is raised, or ``give_up(error,
    verdict, attempts)`` when given (e.g. a RetriableConnectorError saying "try
    again later"). Errors ``classify`` maps to None propagate unchanged.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except catch as exc:
            verdict = classify(exc)
            if verdict is None:
                raise
            attempt += 1
            if attempt >= policy.attempts:
                if give_up is not None:
                    raise give_up(exc, verdict, attempt) from None
                raise
            wait = policy.delay(attempt - 1, verdict.wait)
            log.warning("%s: %s; retry %d/%d in %.1fs", what, verdict.reason, attempt,
                        policy.attempts - 1, wait)
            policy.sleep(wait)


def try_later(what: str) -> Callable[[Exception, Retriable, int], Exception]:
    """``give_up`` for connectors: a RetriableConnectorError, so a later run tries again."""
    def give_up(_exc: Exception, verdict: Retriable, attempts: int) -> Exception:
        return RetriableConnectorError(
            f"{what}: {verdict.reason} after {attempts} attempts; try again later")
    return give_up
