from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import trustme

from rebill.connectors.base import Context
from rebill.connectors.digitalocean.connector import DigitalOceanConnector
from rebill.connectors.registry import build
from tests.conftest import SAMPLES
from tests.fakes.digitalocean import TOKEN, FakeDigitalOcean


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def do_state() -> dict[str, Any]:
    return json.loads((SAMPLES / "digitalocean" / "api.json").read_text())


@pytest.fixture
def fake_do(do_state: dict[str, Any], test_ca: trustme.CA, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDigitalOcean]:
    bundle = tmp_path / "ca.pem"
    test_ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", TOKEN)
    fake = FakeDigitalOcean(do_state, test_ca)
    fake.server.start()
    yield fake
    fake.server.stop()


def make_connector(fake: FakeDigitalOcean, tmp_path: Path, today: date = date(2026, 11, 20),
                   **options: Any) -> DigitalOceanConnector:
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=today)
    raw = {"type": "digitalocean", "endpoint": fake.url, "page_size": 3, **options}
    conn = build("do", raw, ctx)
    assert isinstance(conn, DigitalOceanConnector)
    conn.retry.sleep = lambda s: None
    return conn
