"""Alerts: a JSON POST to a webhook (Slack-compatible ``text``) when something needs a human.

``[alerts] webhook_env`` names the environment variable holding the webhook URL
(the URL is a secret: Slack's carry their token in the path). The nightly run
sends one alert per failed run (all its failures in one message), and one per
budget breach and anomaly, the latter once each (remembered in
``<home>/state/alerts.json``). Delivery is tried a bounded number of times
(network errors, 429 and 5xx); an alert that cannot be delivered is logged and
never fails the run. The payload never carries a secret: the value of every
environment variable the configuration names is masked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import httpx

from rebill import retry
from rebill.atomic import atomic_write
from rebill.config import Config
from rebill.layout import state_dir
from rebill.retry import Retriable, status_verdict

log = logging.getLogger("rebill.alerts")

ATTEMPTS = 3
KINDS = ("failure", "budget", "anomaly")


def secret_values(cfg: Config) -> list[str]:
    """Values of every environment variable a ``*_env`` key of the config names."""
    names: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key.endswith("_env"):
            names.append(value)

    walk(cfg.model_dump(mode="json"))
    values = [os.environ.get(n, "") for n in names]
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def mask(cfg: Config, text: str) -> str:
    for value in secret_values(cfg):
        text = text.replace(value, "***")
    return text


class _RefusedError(Exception):
    """The webhook answered with an error status."""

    def __init__(self, status: int, headers: httpx.Headers) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.headers = headers


def _verdict(exc: Exception) -> Retriable | None:
    if isinstance(exc, _RefusedError):
        return status_verdict(exc.status, dict(exc.headers))
    if isinstance(exc, httpx.TransportError):
        return Retriable(type(exc).__name__)
    return None


def send_alert(cfg: Config, text: str, kind: str = "failure", *,
               transport: httpx.BaseTransport | None = None, backoff: float = 1.0) -> bool:
    """POST ``{"text": ..., "kind": ...}`` to the webhook; True when delivered.

    Network errors, 408, 429 and 5xx are retried through :mod:`rebill.retry`
    (``ATTEMPTS`` calls in all); other answers are final.
    """
    if cfg.alerts is None:
        return False
    url = os.environ.get(cfg.alerts.webhook_env)
    if not url:
        log.warning("alert not sent: environment variable %s is not set ([alerts] webhook_env)",
                    cfg.alerts.webhook_env)
        return False
    payload = {"text": mask(cfg, f"rebill {kind}: {text}"), "kind": kind}
    with httpx.Client(timeout=10, transport=transport) as client:
        def post() -> None:
            answer = client.post(url, json=payload)
            if answer.status_code >= 300:
                raise _RefusedError(answer.status_code, answer.headers)

        try:
            retry.call(post, catch=(httpx.HTTPError, _RefusedError), classify=_verdict,
                       policy=retry.Retry(attempts=ATTEMPTS, base=backoff, cap=30.0),
                       what="alert webhook")  # never the URL: it carries a token
        except (httpx.HTTPError, _RefusedError) as err:
            log.error("alert not delivered to the webhook (%s): %s", type(err).__name__
                      if not isinstance(err, _RefusedError) else err, payload["text"])
            return False
    return True


def _sent_file(cfg: Config) -> Path:
    return state_dir(cfg.home) / "alerts.json"


def send_alert_once(cfg: Config, text: str, kind: str, **kw: Any) -> bool:
    """Like :func:`send_alert`, but each (kind, text) is delivered only once per home."""
    if cfg.alerts is None:
        return False
    path = _sent_file(cfg)
    sent: list[str] = json.loads(path.read_text()) if path.exists() else []
    key = hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()[:16]
    if key in sent:
        return False
    if not send_alert(cfg, text, kind, **kw):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(sorted([*sent, key]), indent=0))
    return True
