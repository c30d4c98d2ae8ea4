"""One bounded retry layer for connector HTTP calls (429 and 5xx).

The SDKs' own retries are switched off where the connectors build their
clients, so this is the only layer: it honours ``Retry-After`` (seconds or an
HTTP date) and ``ratelimit-reset`` / ``X-RateLimit-Reset`` (epoch seconds),
falls back to exponential backoff with jitter, caps every wait, and gives up
after ``retries`` retries with a :class:`RetriableConnectorError` so the
scheduler can try again later.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from rebill.errors import RetriableConnectorError

log = logging.getLogger("rebill.http")
T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Throttle:
    """What a failed call said about retrying: its status and response headers."""

    status: int
    headers: Mapping[str, str]


@dataclass
class RetryPolicy:
    retries: int = 5  # retries after the first attempt
    max_wait: float = 60.0  # seconds, cap on any single wait
    backoff: float = 1.0  # first backoff without a header, doubled each retry
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.time)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get(name.lower())
    return value.strip() if isinstance(value, str) and value.strip() else None


def wait_seconds(throttle: Throttle, attempt: int, policy: RetryPolicy) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based), capped."""
    wait: float | None = None
    after = _header(throttle.headers, "Retry-After")
    if after is not None:
        try:
            wait = float(after)
        except ValueError:
            try:
                when = parsedate_to_datetime(after)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                wait = (when - datetime.fromtimestamp(policy.clock(), UTC)).total_seconds()
    if wait is None:
        for name in ("ratelimit-reset", "X-RateLimit-Reset"):
            reset = _header(throttle.headers, name)
            if reset is not None:
                try:
                    wait = float(reset) - policy.clock()
                except ValueError:
                    continue
                break
    if wait is None:
        wait = policy.backoff * (2**attempt) * (0.5 + random.random() / 2)
    return max(0.0, min(wait, policy.max_wait))


def call_with_retries(
    fn: Callable[[], T],
    *,
    catch: tuple[type[BaseException], ...],
    throttle_of: Callable[[BaseException], Throttle | None],
    what: str,
    policy: RetryPolicy,
) -> T:
    """Run ``fn``; on a caught error that ``throttle_of`` calls retriable, wait and retry.

    Errors ``throttle_of`` maps to ``None`` propagate unchanged for the caller
    to translate (auth, not found, bad request).
    """
    attempt = 0
    while True:
        try:
            return fn()
        except catch as exc:
            throttle = throttle_of(exc)
            if throttle is None or throttle.status not in RETRY_STATUSES:
                raise
            if attempt >= policy.retries:
                raise RetriableConnectorError(
                    f"{what}: HTTP {throttle.status} after {policy.retries} retries; "
                    "try again later"
                ) from None
            wait = wait_seconds(throttle, attempt, policy)
            log.info("%s: HTTP %s, retrying in %.1fs", what, throttle.status, wait)
            policy.sleep(wait)
            attempt += 1
