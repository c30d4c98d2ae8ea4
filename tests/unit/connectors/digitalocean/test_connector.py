"""The real pydo client against the fake DigitalOcean API (HTTPS, test CA)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from rebill.errors import AuthError, RetriableConnectorError
from rebill.layout import partition_file
from rebill.normalize.catalog import ensure_layout
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.fakes.digitalocean import FakeDigitalOcean
from tests.unit.connectors.digitalocean.conftest import make_connector

OCT, NOV = Period(date(2026, 10, 1)), Period(date(2026, 11, 1))


def _exact(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def _lake(tmp_path: Path, fake: FakeDigitalOcean, period: Period) -> tuple[Any, Any]:
    home = tmp_path / "home"
    ensure_layout(home)
    conn = make_connector(fake, tmp_path)
    result = load_partition(home, conn, period)
    table = pq.read_table(partition_file(home, "do", period.label))
    return result, table


def test_periods_cover_closed_invoices_and_preview(fake_do: FakeDigitalOcean,
                                                   tmp_path: Path) -> None:
    conn = make_connector(fake_do, tmp_path)
    found = conn.periods(date(2026, 1, 1), date(2026, 12, 31))
    assert [p.label for p in found] == ["2026-09", "2026-10", "2026-11"]
    assert conn.periods(date(2026, 10, 5), date(2026, 10, 6)) == [OCT]


def test_closed_month_equals_invoice_and_items_spread_exactly(
        fake_do: FakeDigitalOcean, do_state: dict[str, Any], tmp_path: Path) -> None:
    invoice = next(i for i in do_state["invoices"] if i["invoice_period"] == "2026-10")
    items = do_state["invoice_items"][invoice["invoice_uuid"]]
    result, table = _lake(tmp_path, fake_do, OCT)
    rows = table.to_pylist()
    # Items span more than one page of 3: every page was read.
    assert any("page=3" in r for r in fake_do.requests)
    assert sum(r["BilledCost"] for r in rows) == Decimal(invoice["amount"])
    assert result.billed_cost == {"USD": Decimal(invoice["amount"])}
    assert not any(r["x_estimated"] for r in rows)
    assert {r["InvoiceId"] for r in rows} == {invoice["invoice_id"]}
    # Group day rows back per item (description + resource + group are unique here).
    by_item: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_item[(r["SkuId"], r["ResourceId"], r["ChargeDescription"])].append(r)
    assert len(by_item) == len(items)
    for item in items:
        key = (item["description"], item["resource_uuid"] or None, item["group_description"])
        day_rows = by_item[key]
        assert sum(r["BilledCost"] for r in day_rows) == Decimal(item["amount"])
        start = datetime.fromisoformat(item["start_time"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(item["end_time"].replace("Z", "+00:00"))
        assert min(r["ChargePeriodStart"] for r in day_rows) == start
        assert max(r["ChargePeriodEnd"] for r in day_rows) == end
        expected_days = {(start.date().toordinal() + i) for i in range(
            (end - datetime(start.year, start.month, start.day, tzinfo=UTC)).days
            + (1 if end.time() != datetime.min.time() else 0))}
        assert {r["ChargePeriodStart"].date().toordinal() for r in day_rows} == expected_days
        assert all(r["ServiceName"] == item["product"] for r in day_rows)
        tags = dict(day_rows[0]["Tags"] or [])
        assert tags == ({"project": item["project_name"]} if item["project_name"] else {})


def test_partial_day_share_is_proportional_to_hours(fake_do: FakeDigitalOcean,
                                                    tmp_path: Path) -> None:
    _, table = _lake(tmp_path, fake_do, OCT)
    rows = [r for r in table.to_pylist() if r["SkuId"] == "worker-01 (s-1vcpu-1gb)"]
    first = min(rows, key=lambda r: r["ChargePeriodStart"])
    # 13:27 to midnight = 10h33m of a span from Oct 14 13:27 to Nov 1.
    span = (datetime(2026, 11, 1, tzinfo=UTC) - datetime(2026, 10, 14, 13, 27, tzinfo=UTC))
    expected = (Decimal("3.74") * (10 * 3600 + 33 * 60) / Decimal(int(span.total_seconds())))
    assert first["BilledCost"] == expected.quantize(Decimal("1e-12"))
    assert first["ChargePeriodStart"] == datetime(2026, 10, 14, 13, 27, tzinfo=UTC)


def test_preview_rows_are_estimated_then_replaced_by_the_invoice(
        fake_do: FakeDigitalOcean, do_state: dict[str, Any], tmp_path: Path) -> None:
    home = tmp_path / "home"
    ensure_layout(home)
    conn = make_connector(fake_do, tmp_path)
    first = load_partition(home, conn, NOV)
    table = pq.read_table(partition_file(home, "do", "2026-11")).to_pylist()
    preview_items = do_state["invoice_items"]["preview"]
    assert all(r["x_estimated"] for r in table)
    assert sum(r["BilledCost"] for r in table) == sum(Decimal(i["amount"]) for i in preview_items)
    assert first.fingerprint.startswith("preview:")
    # Nothing changed: a nightly re-run is a no-op.
    assert load_partition(home, conn, NOV).status == "unchanged"

    # The month closes with a bigger final amount (the rest of the month).
    final_items = [dict(i, amount=str(Decimal(i["amount"]) + Decimal("1.00")))
                   for i in preview_items]
    fake_do.state["invoice_items"]["preview"] = final_items
    fake_do.close_month("9c1d0f6e-0000-4000-8000-000000000011", "1203456703", "2026-12", [])
    again = load_partition(home, conn, NOV)
    assert again.status == "loaded"
    assert again.fingerprint.startswith("invoice:")
    rows = pq.read_table(partition_file(home, "do", "2026-11")).to_pylist()
    final_total = sum(Decimal(i["amount"]) for i in final_items)
    assert sum(r["BilledCost"] for r in rows) == final_total
    assert not any(r["x_estimated"] for r in rows)
    assert {r["InvoiceId"] for r in rows} == {"1203456703"}
    assert [p.label for p in conn.periods(date(2026, 11, 1), date(2026, 12, 31))] == [
        "2026-11", "2026-12"]


def test_invoice_amount_differing_from_items_is_booked_as_adjustment(
        fake_do: FakeDigitalOcean, tmp_path: Path) -> None:
    inv = next(i for i in fake_do.state["invoices"] if i["invoice_period"] == "2026-10")
    inv["amount"] = str(Decimal(inv["amount"]) - Decimal("0.05"))
    _, table = _lake(tmp_path, fake_do, OCT)
    rows = table.to_pylist()
    assert sum(r["BilledCost"] for r in rows) == Decimal(inv["amount"])
    adj = [r for r in rows if r["ChargeCategory"] == "Adjustment"]
    assert [a["BilledCost"] for a in adj] == [Decimal("-0.05")]


def test_429_waits_as_told_then_succeeds(fake_do: FakeDigitalOcean, tmp_path: Path) -> None:
    conn = make_connector(fake_do, tmp_path)
    waits: list[float] = []
    conn.retry.sleep = waits.append
    fake_do.throttle(1, retry_after="7")
    fake_do.throttle(1, reset_in=30)
    assert OCT in conn.periods(date(2026, 10, 1), date(2026, 10, 31))
    assert waits[0] == 7.0
    assert 25 <= waits[1] <= 30


def test_429_beyond_the_bound_is_retriable(fake_do: FakeDigitalOcean, tmp_path: Path) -> None:
    conn = make_connector(fake_do, tmp_path, retries=2)
    fake_do.throttle(5, retry_after="1")
    with pytest.raises(RetriableConnectorError, match="HTTP 429 after 3 attempts; try again later"):
        conn.periods(date(2026, 10, 1), date(2026, 10, 31))
    assert len(fake_do.requests) == 3


def test_refused_token_names_the_env_var(fake_do: FakeDigitalOcean, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DO_BILLING", "wrong-token")
    conn = make_connector(fake_do, tmp_path, token_env="DO_BILLING")
    with pytest.raises(AuthError, match="DO_BILLING") as err:
        conn.periods(date(2026, 10, 1), date(2026, 10, 31))
    assert "wrong-token" not in str(err.value)
    monkeypatch.delenv("DO_BILLING")
    conn = make_connector(fake_do, tmp_path, token_env="DO_BILLING")
    with pytest.raises(AuthError, match="DO_BILLING is not set"):
        conn.periods(date(2026, 10, 1), date(2026, 10, 31))


def test_same_answers_give_the_same_fingerprint(fake_do: FakeDigitalOcean,
                                                tmp_path: Path) -> None:
    conn = make_connector(fake_do, tmp_path)
    assert conn.extract(OCT).fingerprint == conn.extract(OCT).fingerprint
    assert conn.extract(NOV).fingerprint == conn.extract(NOV).fingerprint
    assert conn.extract(Period(date(2025, 1, 1))).fingerprint == "none"


def test_billing_only_token_uses_the_source_id_as_account(
        fake_do: FakeDigitalOcean, tmp_path: Path) -> None:
    del fake_do.state["account"]
    _, table = _lake(tmp_path, fake_do, OCT)
    assert set(table.column("BillingAccountId").to_pylist()) == {"do"}
    conn = make_connector(fake_do, tmp_path, account_id="team-42")
    first = next(iter(conn.extract(OCT).batches))
    assert set(first.data.column("BillingAccountId").to_pylist()) == {"team-42"}


def test_plain_http_endpoint_is_a_config_error(tmp_path: Path) -> None:
    from rebill.connectors.base import Context
    from rebill.connectors.registry import build
    from rebill.errors import ConfigError

    ctx = Context(home=tmp_path, base_dir=tmp_path, today=date(2026, 11, 20))
    with pytest.raises(ConfigError, match=r"sources\.do\.endpoint.*https"):
        build("do", {"type": "digitalocean", "endpoint": "http://127.0.0.1:9"}, ctx)
