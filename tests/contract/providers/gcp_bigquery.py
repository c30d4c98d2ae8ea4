"""gcp_bigquery wired to the fake BigQuery REST server; the month spans several pages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from unittest import mock

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.periods import Period
from tests.contract.case import ContractCase
from tests.fakes.bigquery import FakeBigQuery
from tests.unit.connectors.gcp import export_fixtures as fx


@contextmanager
def case(tmp_path: Path) -> Iterator[ContractCase]:
    env = {k: v for k, v in os.environ.items() if k != "GOOGLE_APPLICATION_CREDENTIALS"}
    rows = fx.month_rows()
    fake = FakeBigQuery(tables={fx.TABLE: (fx.SCHEMA, rows)}, page_size=5).start()
    try:
        with mock.patch.dict(os.environ, env, clear=True):
            ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 3))
            conn = build("gcp", {"type": "gcp_bigquery", "table": fx.TABLE,
                                 "endpoint": fake.url}, ctx)
            yield ContractCase(conn, Period(date(2026, 10, 1)), min_rows=len(rows))
    finally:
        fake.stop()
