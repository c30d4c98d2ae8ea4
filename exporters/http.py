"""The billing clients' HTTP: httpx, redaction, and their use of :mod:`rebill.retry`.

Every remote call of an exporter goes through :class:`Caller`, which retries
through :mod:`rebill.retry` (the one retry layer). Idempotent calls
(reads, updates, deletes) are retried on 429, 5xx and network errors with
bounded exponential backoff and jitter, honouring ``Retry-After``. A call that
creates something is retried only on 429 (the server refused it before doing
anything); any other failure surfaces as :class:`RetriableExportError` so the
exporter looks the invoice up again instead of creating it twice.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from rebill.errors import ExportError, FatalExportError, RetriableExportError
from rebill.money import parse_decimal
from rebill.redact import redact
from rebill.retry import Retriable, Retry, call, wait_hint

log = logging.getLogger("rebill.exporters")

MAX_ATTEMPTS = 4
MAX_DELAY = 30.0
CREATE_ATTEMPTS = 3
T = TypeVar("T")


def export_retry(**overrides: Any) -> Retry:
    """The billing targets' policy: 4 calls, 0.5 s doubling, at most 30 s per wait."""
    return Retry(**{"attempts": MAX_ATTEMPTS, "base": 0.5, "cap": MAX_DELAY, **overrides})


Check = Callable[[httpx.Response], None]


class ThrottledError(RetriableExportError):
    """The target refused the call before doing anything (429): always safe to repeat."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def ssl_context() -> ssl.SSLContext:
    """TLS trust for the billing targets: ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE`` or certifi."""
    cafile = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    return _context(cafile)


@functools.cache
def _context(cafile: str | None) -> ssl.SSLContext:
    if cafile is None:
        import certifi

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile)


def make_client(url: str, auth: tuple[str, str], timeout: float,
                transport: httpx.BaseTransport | None,
                headers: dict[str, str]) -> httpx.Client:
    """An httpx client for one target (``transport`` replaces the network, for tests)."""
    return httpx.Client(base_url=url.rstrip("/"), auth=auth, timeout=timeout,
                        transport=transport, headers=headers, verify=ssl_context())


class Caller:
    """Sends requests for one target with the retry policy; knows its secrets to redact."""

    def __init__(self, target: str, client: httpx.Client, retry: Retry,
                 secrets: tuple[str, ...]) -> None:
        self.target = target
        self.client = client
        self.retry = retry
        self._secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        """Mask this target's credentials (and their Basic-auth encoding) and every secret."""
        return redact(text, self._secrets)

    def send(self, request: httpx.Request, what: str, *, creates: bool,
             check: Check) -> httpx.Response:
        """Send ``request``; ``check`` raises Retriable/FatalExportError for bad answers.

        Retried through rebill.retry: a read or update on any retriable error, a
        create only when throttled (the server did nothing, so it is safe).
        """
        def attempt() -> httpx.Response:
            try:
                response = self.client.send(request)
                response.read()
            except httpx.TransportError as err:
                raise RetriableExportError(
                    f"{self.target} {what}: {type(err).__name__}: {self.redact(str(err))}"
                ) from None
            if response.status_code == 429:
                raise ThrottledError(f"{self.target} {what}: rate limited (HTTP 429)",
                                     wait_hint(response.headers))
            check(response)
            return response

        def classify(exc: Exception) -> Retriable | None:
            if isinstance(exc, ThrottledError):
                return Retriable(str(exc), exc.retry_after)
            if isinstance(exc, RetriableExportError) and not creates:
                return Retriable(str(exc))
            return None

        return call(attempt, catch=(RetriableExportError,), classify=classify,
                    policy=self.retry, what=f"{self.target} {what}")


def status_error(target: str, what: str, response: httpx.Response, auth_hint: str) -> None:
    """Raise for HTTP statuses every target treats alike (401/403, 5xx)."""
    code = response.status_code
    if code == 401:
        raise FatalExportError(f"{target} {what}: authentication failed (HTTP 401); {auth_hint}")
    if code >= 500:
        raise RetriableExportError(f"{target} {what}: server error (HTTP {code})")


def remote_decimal(value: object) -> Decimal | None:
    """A number the billing system sent back, exactly; None when it is not one
    (the caller treats that as a mismatch, never as zero)."""
    try:
        return parse_decimal(value, "remote value", error=ExportError, json_numbers=True)
    except ExportError:
        return None


def snippet(text: str, limit: int = 120) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[:limit] + "..."


def find_or_create(find: Callable[[], T | None], create: Callable[[], T], retry: Retry) -> T:
    """Look the object up, else create it; a create that failed in an unknown state
    (5xx, lost answer) is looked up again before any new attempt, so it is never doubled."""
    attempt = 0
    while True:
        found = find()
        if found is not None:
            return found
        try:
            return create()
        except RetriableExportError as err:
            attempt += 1
            if attempt >= CREATE_ATTEMPTS:
                raise
            wait = retry.delay(attempt - 1, None)
            log.warning("%s; looking it up again in %.1fs", err, wait)
            retry.sleep(wait)
