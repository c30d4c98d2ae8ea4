from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rebill.connectors.base import Context
from rebill.connectors.linode.connector import LinodeConnector
from rebill.connectors.registry import build
from tests.conftest import SAMPLES
from tests.fakes.linode import TOKEN, FakeLinode


@pytest.fixture
def linode_state() -> dict[str, Any]:
    return json.loads((SAMPLES / "linode" / "api.json").read_text())


@pytest.fixture
def fake_linode(linode_state: dict[str, Any],
                monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLinode]:
    monkeypatch.setenv("LINODE_TOKEN", TOKEN)
    fake = FakeLinode(linode_state)
    fake.server.start()
    yield fake
    fake.server.stop()


def make_connector(fake: FakeLinode, tmp_path: Path, today: date = date(2026, 11, 20),
                   **options: Any) -> LinodeConnector:
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=today)
    raw = {"type": "linode", "endpoint": fake.url, "page_size": 3, **options}
    conn = build("linode", raw, ctx)
    assert isinstance(conn, LinodeConnector)
    conn.retry.sleep = lambda s: None
    return conn
