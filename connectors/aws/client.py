"""boto3 clients for the AWS sources and the one translation of AWS errors.

Clients honour the SDK's standard environment (``AWS_*``, including
``AWS_ENDPOINT_URL``); a source's ``endpoint`` overrides it. botocore's own
retries stay on (standard mode); our error classes decide what a flow retries.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from rebill.errors import (
    AuthError,
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
)
from rebill.retry import Retriable

AUTH_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
    "InvalidClientTokenId", "UnauthorizedOperation",
})
RETRY_CODES = frozenset({
    "LimitExceededException", "Throttling", "ThrottlingException", "SlowDown",
    "RequestLimitExceeded", "ServiceUnavailable", "InternalError", "RequestTimeout",
})


def make_client(
    service: str, endpoint: str | None, region: str | None, max_attempts: int = 3
) -> Any:
    """A boto3 client; ``endpoint`` (else ``AWS_ENDPOINT_URL``) points it elsewhere.

    ``max_attempts=1`` turns botocore's retries off for callers that retry
    themselves (one retry layer per call).
    """
    # imported here: a local CUR export (``path=``) never needs boto3 (0.16 s to import)
    import boto3
    from botocore.config import Config as BotoConfig

    session = boto3.session.Session()
    return session.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint or None,
        region_name=region or session.region_name or "us-east-1",
        config=BotoConfig(retries={"mode": "standard", "total_max_attempts": max_attempts}),
    )


def verdict(err: Exception) -> Retriable | None:
    """rebill.retry's classifier for AWS calls: throttling, 5xx and network trouble repeat."""
    if isinstance(err, NoCredentialsError):
        return None
    if isinstance(err, BotoCoreError):
        return Retriable(type(err).__name__)
    if isinstance(err, ClientError):
        code = error_code(err)
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in RETRY_CODES or status == 429 or status >= 500:
            return Retriable(code or f"HTTP {status}")
    return None


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def translate(err: ClientError | BotoCoreError, where: str) -> ConnectorError:
    """One-line connector error for an AWS failure (no secrets: AWS never echoes keys)."""
    if isinstance(err, NoCredentialsError):
        return AuthError(f"{where}: no AWS credentials (set AWS_* variables or a profile)")
    if isinstance(err, BotoCoreError):
        return RetriableConnectorError(f"{where}: {err}")
    code = error_code(err)
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    message = str(err.response.get("Error", {}).get("Message", "")) or code
    text = f"{where}: {code or status}: {message}"
    if code in AUTH_CODES or status in (401, 403):
        return AuthError(text)
    if code in RETRY_CODES or status == 429 or status >= 500:
        return RetriableConnectorError(text)
    return FatalConnectorError(text)
