from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.periods import Period
from tests.conftest import SAMPLES
from tests.contract.case import ContractCase
from tests.fakes.linode import TOKEN, FakeLinode


@contextmanager
def case(tmp_path: Path) -> Iterator[ContractCase]:
    state = json.loads((SAMPLES / "linode" / "api.json").read_text())
    fake = FakeLinode(state)
    fake.server.start()
    saved = os.environ.get("LINODE_TOKEN")
    os.environ["LINODE_TOKEN"] = TOKEN
    try:
        ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 20))
        conn = build("linode", {"type": "linode", "endpoint": fake.url, "page_size": 3}, ctx)
        yield ContractCase(conn, Period(date(2026, 10, 1)), min_rows=200)
    finally:
        if saved is None:
            os.environ.pop("LINODE_TOKEN", None)
        else:
            os.environ["LINODE_TOKEN"] = saved
        fake.server.stop()
