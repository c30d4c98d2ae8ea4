"""Google clients for the GCP source and the one translation of Google errors.

Credentials come from the SDK's standard environment (Application Default
Credentials, ``GOOGLE_APPLICATION_CREDENTIALS``). A source with an
``endpoint`` (an emulator, a proxy, tests) and no credentials found talks to
it anonymously; without an endpoint, missing credentials are an AuthError.
"""

from __future__ import annotations

from typing import Any

import google.auth
import requests
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError

from rebill.errors import AuthError, ConnectorError, FatalConnectorError, RetriableConnectorError

# What a Google call may raise (caught at each call site, then translated).
ERRORS: tuple[type[BaseException], ...] = (
    gexc.GoogleAPIError, GoogleAuthError, requests.RequestException,
)


def credentials(endpoint: str | None, where: str) -> Credentials:
    try:
        found, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"])
        return found  # type: ignore[no-any-return]
    except DefaultCredentialsError:
        if endpoint:
            return AnonymousCredentials()  # type: ignore[no-untyped-call]
        raise AuthError(
            f"{where}: no Google credentials (set GOOGLE_APPLICATION_CREDENTIALS or run "
            "gcloud auth application-default login)") from None


def bigquery_client(project: str, endpoint: str | None, where: str) -> Any:
    from google.cloud import bigquery

    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    return bigquery.Client(project=project, credentials=credentials(endpoint, where),
                           client_options=options)


def billing_account_name(account: str, endpoint: str | None, where: str) -> str:
    """The display name of a billing account (Cloud Billing API, REST)."""
    from google.cloud import billing_v1

    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    client = billing_v1.CloudBillingClient(
        credentials=credentials(endpoint, where), client_options=options, transport="rest")
    try:
        found = client.get_billing_account(name=f"billingAccounts/{account}")
    except ERRORS as err:
        raise translate(err, f"{where}: billing account {account}") from None
    return str(found.display_name)


def translate(err: BaseException, where: str) -> ConnectorError:
    """One-line connector error for a Google failure."""
    if isinstance(err, (gexc.Unauthorized, gexc.Forbidden, GoogleAuthError)):
        return AuthError(f"{where}: access refused: {_message(err)}")
    if isinstance(err, (gexc.TooManyRequests, gexc.ServerError, gexc.ServiceUnavailable,
                        gexc.RetryError, requests.RequestException)):
        return RetriableConnectorError(f"{where}: {_message(err)}")
    return FatalConnectorError(f"{where}: {_message(err)}")


def _message(err: BaseException) -> str:
    if isinstance(err, gexc.GoogleAPICallError):
        return str(err.message).splitlines()[0] if err.message else type(err).__name__
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
