"""Fixtures for the exporter tests: rated invoice lines on disk, fake billing servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rebill.config import Config
from rebill.datasets import INVOICE_DRAFTS, INVOICE_LINES
from rebill.exporters.http import export_retry
from rebill.layout import rated_dir
from rebill.retry import Retry
from tests.fakes.blesta import FakeBlesta
from tests.fakes.fossbilling import FakeFossBilling

REPO_ROOT = Path(__file__).resolve().parents[3]
FB_ENV = "TEST_FOSSBILLING_KEY"
BL_USER_ENV = "TEST_BLESTA_USER"
BL_KEY_ENV = "TEST_BLESTA_KEY"

# Two tenants: acme in EUR (3 lines, one with usage figures), globex in USD.
LINES: list[dict[str, Any]] = [
    {"tenant_id": "acme", "line_no": 1, "kind": "usage", "description": "AWS Amazon EC2",
     "provider": "AWS", "service": "Amazon EC2", "amount": Decimal("1234.57"),
     "currency": "EUR", "taxed": True, "quantity": Decimal("720.5"), "unit": "Hours"},
    {"tenant_id": "acme", "line_no": 2, "kind": "shared", "description": "Shared: Support",
     "provider": None, "service": None, "amount": Decimal("-10.05"), "currency": "EUR",
     "taxed": True, "quantity": None, "unit": None},
    {"tenant_id": "acme", "line_no": 3, "kind": "fee", "description": "Managed service",
     "provider": None, "service": None, "amount": Decimal("100.00"), "currency": "EUR",
     "taxed": False, "quantity": None, "unit": None},
    {"tenant_id": "globex", "line_no": 1, "kind": "usage", "description": "GCP Compute Engine",
     "provider": "GCP", "service": "Compute Engine", "amount": Decimal("0.01"),
     "currency": "USD", "taxed": True, "quantity": Decimal("2.7"), "unit": "GiB"},
]


def write_lines(home: Path, period: str, lines: list[dict[str, Any]]) -> None:
    """Write a rated period as the rating engine would (invoice_lines + invoices)."""
    folder = rated_dir(home, period)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{**ln, "period": period} for ln in lines]
    pq.write_table(pa.Table.from_pylist(rows, schema=INVOICE_LINES),
                   folder / "invoice_lines.parquet")
    drafts: dict[str, dict[str, Any]] = {}
    for ln in rows:
        d = drafts.setdefault(ln["tenant_id"], {
            "tenant_id": ln["tenant_id"], "period": period, "currency": ln["currency"],
            "subtotal": Decimal(0), "line_count": 0, "lines_hash": "x"})
        d["subtotal"] += ln["amount"]
        d["line_count"] += 1
    pq.write_table(pa.Table.from_pylist(list(drafts.values()), schema=INVOICE_DRAFTS),
                   folder / "invoices.parquet")


def expected(tenant: str, lines: list[dict[str, Any]] | None = None) -> list[Decimal]:
    return [ln["amount"] for ln in (lines or LINES) if ln["tenant_id"] == tenant]


@pytest.fixture
def fossbilling() -> Iterator[FakeFossBilling]:
    fake = FakeFossBilling().start()
    yield fake
    fake.stop()


@pytest.fixture
def blesta() -> Iterator[FakeBlesta]:
    fake = FakeBlesta().start()
    yield fake
    fake.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> Retry:
    """No real waiting in tests: delays are recorded instead."""
    return export_retry(sleep=sleeps.append)


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch, fossbilling: FakeFossBilling,
                blesta: FakeBlesta) -> None:
    monkeypatch.setenv(FB_ENV, fossbilling.token)
    monkeypatch.setenv(BL_USER_ENV, blesta.user)
    monkeypatch.setenv(BL_KEY_ENV, blesta.key)


@pytest.fixture
def cfg_for(make_config: Callable[[dict[str, Any]], Config], fossbilling: FakeFossBilling,
            blesta: FakeBlesta, secrets_env: None) -> Callable[..., Config]:
    def build(create_clients: bool = True, **tenant_billing: dict[str, Any]) -> Config:
        return make_config({
            "tenants": [
                {"id": "acme", "name": "Acme Corp", "currency": "EUR",
                 "billing": {"email": "billing@acme.example", **tenant_billing.get("acme", {})}},
                {"id": "globex", "name": "Globex", "currency": "USD",
                 "billing": {"email": "ap@globex.example", **tenant_billing.get("globex", {})}},
            ],
            "exporters": {
                "fossbilling": {"url": fossbilling.url, "api_key_env": FB_ENV,
                                "create_clients": create_clients},
                "blesta": {"url": blesta.url, "user_env": BL_USER_ENV, "key_env": BL_KEY_ENV,
                           "create_clients": create_clients},
            },
        })

    return build


@pytest.fixture
def cfg(cfg_for: Callable[..., Config]) -> Config:
    config = cfg_for()
    write_lines(config.home, "2026-10", LINES)
    return config
