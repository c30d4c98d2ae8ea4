"""The real linode_api4 client against the fake Linode API."""

from __future__ import annotations

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
from tests.fakes.linode import FakeLinode
from tests.unit.connectors.linode.conftest import make_connector

SEP, OCT, NOV = (Period(date(2026, m, 1)) for m in (9, 10, 11))


def dec(x: Any) -> Decimal:
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(str(x))


def _load(tmp_path: Path, conn: Any, period: Period) -> tuple[Any, list[dict[str, Any]]]:
    home = tmp_path / "home"
    ensure_layout(home)
    result = load_partition(home, conn, period)
    rows = pq.read_table(partition_file(home, conn.source_id, period.label)).to_pylist()
    return result, rows


def test_periods_are_invoiced_months_plus_the_open_one(fake_linode: FakeLinode,
                                                       tmp_path: Path) -> None:
    conn = make_connector(fake_linode, tmp_path)
    assert conn.periods(date(2026, 1, 1), date(2026, 12, 31)) == [SEP, OCT, NOV]


@pytest.mark.parametrize("period", [SEP, OCT])
def test_month_equals_invoice_subtotal_and_tax(fake_linode: FakeLinode, linode_state: dict,
                                               tmp_path: Path, period: Period) -> None:
    conn = make_connector(fake_linode, tmp_path)
    _, rows = _load(tmp_path, conn, period)
    invoice = next(i for i in linode_state["invoices"]
                   if i["date"].startswith(period.next().label))
    items = linode_state["invoice_items"][str(invoice["id"])]
    assert len(items) > 3  # the fake served more than one page of items
    assert any("page=2" in r for r in fake_linode.requests)
    usage = [r for r in rows if r["ChargeCategory"] != "Tax"]
    tax = [r for r in rows if r["ChargeCategory"] == "Tax"]
    assert sum(r["BilledCost"] for r in usage) == dec(invoice["subtotal"])
    assert sum(r["BilledCost"] for r in tax) == dec(invoice["tax"])
    assert sum(r["BilledCost"] for r in rows) == dec(invoice["total"])
    assert {r["InvoiceId"] for r in rows} == {str(invoice["id"])}
    assert {r["BillingCurrency"] for r in rows} == {"USD"}
    assert not any(r["x_estimated"] for r in rows)
    per_item: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    days: dict[str, set[date]] = defaultdict(set)
    for r in rows:
        label = r["ChargeDescription"].removeprefix("Tax: ")
        per_item[(label, r["ChargeCategory"])] += r["BilledCost"]
        days[label].add(r["ChargePeriodStart"].date())
    for item in items:
        assert per_item[(item["label"], "Usage")] == dec(item["amount"])
        assert per_item[(item["label"], "Tax")] == dec(item["tax"])
        start = datetime.fromisoformat(item["from"]).date()
        end = datetime.fromisoformat(item["to"]).date()
        assert days[item["label"]] == {
            date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)}


def test_item_fields_map_to_focus_columns(fake_linode: FakeLinode, tmp_path: Path) -> None:
    _, rows = _load(tmp_path, make_connector(fake_linode, tmp_path), OCT)
    web = [r for r in rows if r["ChargeDescription"] == "Linode 4GB - web1 (40212345)"]
    assert {(r["ServiceName"], r["ServiceCategory"], r["SkuId"], r["ResourceId"],
             r["ResourceName"], r["RegionId"], r["ChargeFrequency"]) for r in web} == {
        ("Linodes", "Compute", "Linode 4GB", "40212345", "web1", "us-east", "Usage-Based")}
    assert len(web) == 31
    assert web[0]["ChargePeriodStart"] == datetime(2026, 10, 1, tzinfo=UTC)
    assert max(r["ChargePeriodEnd"] for r in web) == datetime(2026, 11, 1, tzinfo=UTC)


def test_open_month_is_estimated_then_replaced_by_the_invoice(
        fake_linode: FakeLinode, linode_state: dict, tmp_path: Path) -> None:
    home = tmp_path / "home"
    ensure_layout(home)
    conn = make_connector(fake_linode, tmp_path, today=date(2026, 11, 20))
    first = load_partition(home, conn, NOV)
    rows = pq.read_table(partition_file(home, "linode", "2026-11")).to_pylist()
    balance = dec(linode_state["account"]["balance_uninvoiced"])
    assert first.fingerprint.startswith("estimate:")
    assert len(rows) == 20 and all(r["x_estimated"] for r in rows)
    assert sum(r["BilledCost"] for r in rows) == balance
    assert load_partition(home, conn, NOV).status == "unchanged"

    items = [dict(i, **{"from": i["from"].replace("2026-10", "2026-11"),
                        "to": "2026-11-30T23:59:59"})
             for i in linode_state["invoice_items"]["31415902"]]
    subtotal = sum(dec(i["amount"]) for i in items)
    tax = sum(dec(i["tax"]) for i in items)
    fake_linode.issue_invoice({"id": 31415903, "label": "Invoice", "date": "2026-12-01T04:00:00",
                               "subtotal": float(subtotal), "tax": float(tax),
                               "total": float(subtotal + tax)}, items, 3.21)
    after = make_connector(fake_linode, tmp_path, today=date(2026, 12, 1))
    again = load_partition(home, after, NOV)
    assert again.status == "loaded" and again.fingerprint.startswith("invoice:")
    rows = pq.read_table(partition_file(home, "linode", "2026-11")).to_pylist()
    assert not any(r["x_estimated"] for r in rows)
    assert sum(r["BilledCost"] for r in rows) == subtotal + tax
    assert after.periods(date(2026, 11, 1), date(2026, 12, 31)) == [NOV, Period(date(2026, 12, 1))]


def test_invoice_tax_without_item_tax_becomes_a_tax_row(fake_linode: FakeLinode,
                                                        tmp_path: Path) -> None:
    for item in fake_linode.state["invoice_items"]["31415902"]:
        item.pop("tax")
    inv = next(i for i in fake_linode.state["invoices"] if i["id"] == 31415902)
    _, rows = _load(tmp_path, make_connector(fake_linode, tmp_path), OCT)
    tax = [r for r in rows if r["ChargeCategory"] == "Tax"]
    assert len(tax) == 1 and tax[0]["BilledCost"] == dec(inv["tax"])
    assert tax[0]["ChargePeriodStart"] == datetime(2026, 10, 31, tzinfo=UTC)


def test_429_honours_retry_after_then_succeeds(fake_linode: FakeLinode, tmp_path: Path) -> None:
    conn = make_connector(fake_linode, tmp_path)
    waits: list[float] = []
    conn.retry.sleep = waits.append
    fake_linode.throttle(2, retry_after="3")
    assert OCT in conn.periods(date(2026, 10, 1), date(2026, 10, 31))
    assert waits == [3.0, 3.0]


def test_429_beyond_the_bound_is_retriable(fake_linode: FakeLinode, tmp_path: Path) -> None:
    conn = make_connector(fake_linode, tmp_path, retries=1)
    fake_linode.throttle(3)
    with pytest.raises(RetriableConnectorError, match="HTTP 429 after 2 attempts; try again later"):
        conn.periods(date(2026, 10, 1), date(2026, 10, 31))
    assert len(fake_linode.requests) == 2  # the library's own retries are off


def test_refused_token_names_the_env_var(fake_linode: FakeLinode, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINODE_BILLING", "not-the-token")
    conn = make_connector(fake_linode, tmp_path, token_env="LINODE_BILLING")
    with pytest.raises(AuthError, match="LINODE_BILLING") as err:
        conn.extract(OCT)
    assert "not-the-token" not in str(err.value)
