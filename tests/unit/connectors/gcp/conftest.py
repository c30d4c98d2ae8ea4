from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.bigquery import FakeBigQuery
from tests.unit.connectors.gcp import export_fixtures as fx


@pytest.fixture
def fake_bq(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBigQuery]:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "billing-proj")
    fake = FakeBigQuery(tables={fx.TABLE: (fx.SCHEMA, fx.month_rows())}, page_size=7,
                        billing_accounts={fx.ACCOUNT: "Acme Cloud Billing"}).start()
    yield fake
    fake.stop()
