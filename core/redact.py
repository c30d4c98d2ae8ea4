"""Masking secrets in every message rebill prints or logs.

Secrets never come from ``rebill.toml``: they are environment variables,
either named by a ``*_env`` key (``token_env``, ``api_key_env``, ``user_env``,
``key_env``; registered by :func:`register_env` when a config is opened) or
read by an SDK on its own (``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
Google's credentials). :func:`redact` replaces each such value, and the
encodings a server may echo back (base64, HTTP Basic ``user:secret``,
URL-encoding), with ``***``. :class:`rebill.errors.RebillError` redacts its
message, and :func:`install_log_filter` every log record.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path
from urllib.parse import quote

MASK = "***"
MIN_SECRET = 6  # shorter values would mask ordinary words
# Read by SDKs without a *_env key naming them.
ALWAYS = (
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "GOOGLE_OAUTH_ACCESS_TOKEN", "FOSSBILLING_API_KEY", "BLESTA_API_USER", "BLESTA_API_KEY",
    "DIGITALOCEAN_TOKEN", "LINODE_TOKEN",
)
# Users of HTTP Basic auth that are not secrets themselves (FOSSBilling's admin API).
BASIC_USERS = ("admin",)

_registered: set[str] = set()


def register_env(names: list[str] | tuple[str, ...] | set[str]) -> None:
    """Treat the values of these environment variables as secrets from now on."""
    _registered.update(n for n in names if n)


def _google_secrets() -> list[str]:
    path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not path:
        return []
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    return [str(data[k]) for k in ("private_key", "client_secret", "refresh_token")
            if data.get(k)]


def secrets() -> list[str]:
    """Every secret value now in the environment (longest first)."""
    values = {os.environ.get(n, "") for n in (*ALWAYS, *_registered)}
    values.update(_google_secrets())
    return sorted((v for v in values if len(v) >= MIN_SECRET), key=len, reverse=True)


def _forms(value: str, others: list[str]) -> set[str]:
    b64 = base64.b64encode(value.encode()).decode()
    forms = {value, b64, b64.rstrip("="), quote(value, safe=""),
             base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")}
    for user in (*BASIC_USERS, *others):
        for pair in (f"{user}:{value}", f"{value}:{user}"):
            forms.add(base64.b64encode(pair.encode()).decode())
    return {f for f in forms if len(f) >= MIN_SECRET}


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """``text`` with every secret (and its base64/Basic-auth/URL forms) masked.

    ``extra``: secrets a caller holds that no environment variable names.
    """
    values = sorted({*secrets(), *(e for e in extra if len(e) >= MIN_SECRET)},
                    key=len, reverse=True)
    if not values or not text:
        return text
    forms: set[str] = set()
    for v in values:
        forms |= _forms(v, [o for o in values if o != v])
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_filter() -> None:
    """Redact every record any handler of the root logger emits."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())
