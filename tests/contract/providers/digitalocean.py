from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import trustme

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.periods import Period
from tests.conftest import SAMPLES
from tests.contract.case import ContractCase
from tests.fakes.digitalocean import TOKEN, FakeDigitalOcean


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def case(tmp_path: Path) -> Iterator[ContractCase]:
    ca = trustme.CA()
    bundle = tmp_path / "do-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    state = json.loads((SAMPLES / "digitalocean" / "api.json").read_text())
    fake = FakeDigitalOcean(state, ca)
    fake.server.start()
    try:
        with _env(REQUESTS_CA_BUNDLE=str(bundle), DIGITALOCEAN_TOKEN=TOKEN):
            ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 20))
            conn = build("do", {"type": "digitalocean", "endpoint": fake.url,
                                "page_size": 3}, ctx)
            yield ContractCase(conn, Period(date(2026, 10, 1)), min_rows=200)
    finally:
        fake.server.stop()
