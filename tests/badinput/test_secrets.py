"""Secrets never appear in a message: canary values in the environment, servers that
echo the request (headers included) in their error bodies, and every encoding."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from rebill.config import Blesta
from rebill.errors import ConnectorError, ExportError, RebillError
from rebill.exporters.blesta import BlestaApi
from rebill.redact import RedactFilter, redact, register_env
from rebill.retry import Retry
from tests.badinput.conftest import one_line, rebill

SESSION = "FQoGZXIvYXdzEXAMPLEsessionTOKENcanary123456"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYcanarykey"
USER = "blesta-canary-user"
KEY = "blesta-canary-key-0123456789"
CANARIES = (SESSION, SECRET_KEY, USER, KEY)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(autouse=True)
def canaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("MY_BLESTA_USER", USER)
    monkeypatch.setenv("MY_BLESTA_KEY", KEY)
    register_env(["MY_BLESTA_USER", "MY_BLESTA_KEY"])


def assert_clean(text: str) -> None:
    for c in CANARIES:
        for form in (c, b64(c), quote(c, safe="")):
            assert form not in text, (form, text)
    assert b64(f"{USER}:{KEY}") not in text


ECHOES = [
    ("raw", lambda: f"token {SESSION} refused"),
    ("secret-key", lambda: f"signature for {SECRET_KEY} mismatch"),
    ("basic-auth", lambda: f"Authorization: Basic {b64(f'{USER}:{KEY}')}"),
    ("basic-admin", lambda: f"Authorization: Basic {b64(f'admin:{KEY}')}"),
    ("base64-token", lambda: f"X-Amz-Security-Token-B64: {b64(SESSION)}"),
    ("url-encoded", lambda: f"GET /?X-Amz-Security-Token={quote(SESSION, safe='')}"),
    ("header-echo-json", lambda: json.dumps({"headers": {"BLESTA-API-KEY": KEY,
                                                         "BLESTA-API-USER": USER}})),
]


@pytest.mark.parametrize(("case", "text"), ECHOES, ids=[e[0] for e in ECHOES])
def test_errors_and_logs_mask_every_form(case: str, text: object,
                                         caplog: pytest.LogCaptureFixture) -> None:
    message = text()  # type: ignore[operator]
    for err in (RebillError(message), ConnectorError(message), ExportError(message)):
        assert_clean(str(err))
    assert_clean(redact(message))
    record = logging.LogRecord("rebill", logging.ERROR, __file__, 1, "failed: %s", (message,),
                               None)
    RedactFilter().filter(record)
    assert_clean(record.getMessage())


@pytest.mark.parametrize("status", [400, 401, 403, 422, 500, 502])
def test_blesta_server_echoing_headers_is_masked(status: int) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        headers = dict(request.headers)
        if status in (500, 502):  # an HTML error page with the request dumped
            return httpx.Response(status, text=f"<pre>{headers}</pre>")
        return httpx.Response(status, json={"message": "bad", "errors": {"echo": headers}})

    cfg = Blesta(url="http://127.0.0.1:9/api", user_env="MY_BLESTA_USER", key_env="MY_BLESTA_KEY")
    api = BlestaApi(cfg, USER, KEY, transport=httpx.MockTransport(echo),
                    retry=Retry(attempts=1, base=0, cap=0))
    with pytest.raises(ExportError) as info:
        api.call("GET", "clients/get", {"client_id": 1})
    assert_clean(str(info.value))


def test_cli_error_line_is_masked(tmp_path: Path) -> None:
    cfg = tmp_path / "rebill.toml"
    cfg.write_text(f'[rebill]\nhome = "h"\n[[tenants]]\nid = "{SESSION}/x"\n')
    code, _, err = rebill("check", "-c", str(cfg))
    assert code == 1 and "tenants[0].id" in one_line(err)
    assert_clean(err)
