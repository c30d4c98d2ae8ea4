"""The one exception tree of rebill.

A ``RebillError`` is a user-facing error: the CLI prints ``str(err)`` as one
line and exits non-zero, without a traceback. Anything else is a bug.

    RebillError
    ├── ConfigError                  bad or inconsistent configuration
    ├── ConnectorError               a cost source failed
    │   ├── RetriableConnectorError  429, 5xx, throttling: try again later
    │   └── FatalConnectorError      4xx, bad answers: retrying will not help
    │       └── AuthError            credentials missing or refused
    ├── DataContractError            a batch violates the canonical schema
    ├── RatingError                  rating cannot produce a correct answer (FX gap, ...)
    ├── ExportError                  a billing target failed
    │   ├── RetriableExportError
    │   └── FatalExportError
    ├── LockedError                  another run holds the lock
    └── QueryError                   an analyst's query was refused (it could write) or failed
"""

from __future__ import annotations


class RebillError(Exception):
    """Base of every error a user is meant to read; its text never shows a secret."""

    def __str__(self) -> str:
        from rebill.redact import redact

        return redact(super().__str__())


class ConfigError(RebillError):
    """The configuration is missing, malformed or inconsistent."""


class ConnectorError(RebillError):
    """A cost source could not be read."""


class RetriableConnectorError(ConnectorError):
    """Transient: throttled, 5xx, network. Retrying later may succeed."""


class FatalConnectorError(ConnectorError):
    """Permanent: retrying will not help."""


class AuthError(FatalConnectorError):
    """Credentials are missing or were refused."""


class DataContractError(RebillError):
    """A batch does not satisfy the canonical schema."""


class RatingError(RebillError):
    """Rating cannot give a correct answer (for example a missing FX rate)."""


class ExportError(RebillError):
    """A billing target refused or failed a call."""


class RetriableExportError(ExportError):
    """Transient export failure (429, 5xx, network)."""


class FatalExportError(ExportError):
    """Permanent export failure (validation, auth, conflicting remote state)."""


class LockedError(RebillError):
    """Another rebill run holds the home's lock."""


class QueryError(RebillError):
    """``rebill sql``: a statement that could change something, or a query that failed."""


def is_retriable(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying (used by Prefect retry conditions)."""
    return isinstance(exc, RetriableConnectorError | RetriableExportError)
