"""Closing the money loop: per-tenant targets, payments read back, reconciliation, commitments.

Everything goes through the real clients (httpx) against the fakes in
tests/fakes, which record payments the way FOSSBilling and Blesta do.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rebill.config import Config
from rebill.datasets import RATED_COSTS
from rebill.errors import ExportError
from rebill.exporters import ledger
from rebill.exporters.reconcile import reconcile
from rebill.exporters.run import export_period
from rebill.flows.commands.rating import _operations, receivable_lines
from rebill.flows.reports.commitments import commitment_summary
from rebill.flows.reports.overview import render_overview
from rebill.layout import rated_dir
from rebill.normalize.catalog import connect
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.fakes.blesta import FakeBlesta
from tests.fakes.fossbilling import FakeFossBilling
from tests.helpers import ListConnector, row
from tests.unit.exporters.billing_http import bl, blesta_payment, fb
from tests.unit.exporters.conftest import BL_KEY_ENV, BL_USER_ENV, INITECH, write_lines

PERIOD = "2026-10"
SPEC = Path(__file__).resolve().parents[2] / "data" / "focus_spec_v1.2"

def _spec_rows() -> list[dict[str, Any]]:
    """The FOCUS 1.2 commitment examples as lake rows (one commitment id per file).

    The examples omit columns rebill requires; these get neutral values:
    ListCost and ContractedCost, when absent, equal EffectiveCost (no saving
    claimed), names and accounts are placeholders.
    """
    out = []
    for path in sorted(SPEC.glob("*.csv")):
        with path.open(newline="") as fh:
            for rec in csv.DictReader(fh):
                if not rec.get("BillingPeriodStart"):
                    continue  # the zero-utilization example has blank lines

                def get(name: str, rec: dict[str, str] = rec) -> str | None:
                    value = rec.get(name)
                    return None if value in (None, "", "null") else value

                effective = Decimal(get("EffectiveCost") or "0")
                start = datetime.fromisoformat(rec["ChargePeriodStart"])
                commitment = get("CommitmentDiscountId")
                out.append(row(
                    start.date(), "0", BilledCost=Decimal(get("BilledCost") or "0"),
                    EffectiveCost=effective,
                    ListCost=Decimal(get("ListCost") or effective),
                    ContractedCost=Decimal(get("ContractedCost") or effective),
                    ChargeCategory=rec["ChargeCategory"],
                    ChargeFrequency=rec["ChargeFrequency"],
                    PricingCategory=get("PricingCategory"),
                    ChargePeriodStart=start,
                    ChargePeriodEnd=datetime.fromisoformat(rec["ChargePeriodEnd"]),
                    ResourceId=get("ResourceId"),
                    ConsumedQuantity=Decimal(q) if (q := get("ConsumedQuantity")) else None,
                    ConsumedUnit=get("ConsumedUnit"),
                    CommitmentDiscountId=f"{path.stem}:{commitment}" if commitment else None,
                    CommitmentDiscountCategory=get("CommitmentDiscountCategory"),
                    CommitmentDiscountStatus=get("CommitmentDiscountStatus")))
    return out


def _load_spec(cfg: Config) -> None:
    load_partition(cfg.home, ListConnector("focus-spec", {"2023-01": _spec_rows()}),
                   Period.parse("2023-01"))


def _query(cfg: Config, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = connect(cfg.home)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _receivables_rows(cfg: Config) -> dict[str, tuple[Any, ...]]:
    rows = _query(cfg, "SELECT tenant_id, target, status, amount_paid, remote_total, currency, "
                       "strftime(paid_at, '%Y-%m-%d %H:%M'), number, previous_status "
                       "FROM receivables WHERE period = ? ORDER BY tenant_id", [PERIOD])
    return {r[0]: r[1:] for r in rows}


def test_money_loop(loop_cfg: Config, fossbilling: FakeFossBilling, blesta: FakeBlesta,
                    retry: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Done when: 2 tenants to FOSSBilling, 1 to Blesta in one run; a payment in each fake
    (one partial); reconcile shows paid/partial/unpaid; a one-cent remote edit is one
    reconciliation row; commitments equal hand-computed values on the FOCUS examples."""
    cfg = loop_cfg
    outcome = export_period(cfg, PERIOD, echo=lambda _: None, retry=retry)
    assert sorted(outcome.exported) == ["acme", "globex", "initech"]
    targets = {e.tenant_id: (e.target, e.external_id) for e in ledger.read_ledger(cfg.home)}
    assert {t: v[0] for t, v in targets.items()} == {
        "acme": "fossbilling", "globex": "fossbilling", "initech": "blesta"}

    # acme pays in full in FOSSBilling; initech pays 50.25 of 100.50 in Blesta.
    acme_id = targets["acme"][1]
    assert fb(fossbilling, "invoice/mark_as_paid", {"id": acme_id})["error"]["message"] \
        .startswith("Payment gateway is required")
    assert fb(fossbilling, "invoice/mark_as_paid",
              {"id": acme_id, "gateway_id": 1, "transactionId": "wire-1"})["result"] is True
    initech_id = targets["initech"][1]
    client = blesta.invoices[int(initech_id)]["client_id"]
    blesta_payment(blesta, client, initech_id, "50.25", "USD")

    first = reconcile(cfg, PERIOD, echo=lambda _: None, retry=retry)
    assert not first.failed and not first.drift
    got = _receivables_rows(cfg)
    assert got["acme"] == ("fossbilling", "paid", Decimal("1324.52"), Decimal("1324.52"), "EUR",
                           "2026-11-20 10:00", "PAID00001", None)
    assert got["globex"][:5] == ("fossbilling", "unpaid", Decimal("0.00"), Decimal("0.01"),
                                 "USD")
    assert got["globex"][5] is None
    assert got["initech"][:6] == ("blesta", "partially_paid", Decimal("50.25"),
                                  Decimal("100.50"), "USD", "2026-11-21 09:30")

    # Staff edit acme's shared line by one cent in FOSSBilling (it is paid and renumbered:
    # the renumbering on payment is FOSSBilling's rule, not drift).
    line = fossbilling.invoices[int(acme_id)]["lines"][1]
    assert fb(fossbilling, "invoice/update", {"id": acme_id, "items": {
        str(line["id"]): {"price": "-10.04"}}})["result"] is True
    second = reconcile(cfg, PERIOD, echo=lambda _: None, retry=retry)
    assert [(d.entry.tenant_id, d.entry.period, d.entry.target, d.kind, d.line_no,
             d.difference) for d in second.drift] == [
        ("acme", PERIOD, "fossbilling", "line_amount", 2, Decimal("0.01"))]
    con = connect(cfg.home)
    try:
        drift = con.execute("SELECT tenant_id, period, target, kind, line_no, expected, remote, "
                            "difference FROM reconciliation").fetchall()
        history = con.execute("SELECT count(*) FROM receivables_history").fetchone()
    finally:
        con.close()
    print("\n".join(receivable_lines(_operations(cfg, Period.parse(PERIOD)), Period.parse(PERIOD))))
    assert drift == [("acme", PERIOD, "fossbilling", "line_amount", 2, "-10.05", "-10.04",
                      Decimal("0.01"))]
    assert history == (6,)  # two read-backs of three invoices, nothing rewritten
    assert _receivables_rows(cfg)["initech"][-1] == "partially_paid"  # previous status
    shown = capsys.readouterr().out
    assert "receivables: 1 paid, 1 partially_paid, 1 unpaid" in shown
    assert ("reconciliation: acme 2026-10 fossbilling 1: line 2 (Shared: Support) exported "
            "-10.05, remote -10.04 (difference 0.01)") in shown

    # Commitments: the FOCUS 1.2 spec's examples, by hand.
    _load_spec(cfg)
    rows = _query(cfg, "SELECT split_part(commitment_id, ':', 1), day, used_cost, unused_cost, "
                       "utilization, list_cost, savings_vs_list, savings_vs_contracted, "
                       "purchase_cost FROM commitments ORDER BY 1")
    d = Decimal
    assert [(r[0], str(r[1]), *r[2:]) for r in rows] == [
        # one-time purchase of 8,760 hours: the fee, no usage yet
        ("commitment_discount_purchase_scenario_1", "2023-01-01", d(0), d(0), None, d(0),
         d(0), d(0), d("8760.00")),
        # fully used for the hour: 100 %
        ("commitment_discount_usage_scenario_1", "2023-01-01", d("1.00"), d(0), d(1),
         d("1.00"), d(0), d(0), d(0)),
        # 0.75 used, 0.25 unused: 75 %, the unused quarter is lost
        ("commitment_discount_usage_scenario_3", "2023-01-01", d("0.75"), d("0.25"),
         d("0.75"), d("0.75"), d("-0.25"), d("-0.25"), d(0)),
        # nothing used: 0 %, the hour's 1.50 is wasted, the 1.50 fee is the purchase
        ("zero_percent_utilization_without_commitment_discount_flexibility", "2023-01-01",
         d(0), d("1.50"), d(0), d(0), d("-1.50"), d("-1.50"), d("1.50")),
    ]


def test_commitment_tenants(loop_cfg: Config) -> None:
    """Which tenants the used commitment rows went to, shared rows split by rated cost."""
    cfg = loop_cfg
    _load_spec(cfg)
    used = _query(cfg, "SELECT x_source, x_row_id, CommitmentDiscountId FROM costs "
                       "WHERE CommitmentDiscountStatus = 'Used' ORDER BY 3")
    assert len(used) == 2  # usage scenarios 1 and 3
    (src1, row1, _), (src3, row3, _) = used

    def rated(tenant: str, src: str, row_id: str, cost: str) -> dict[str, Any]:
        return {"tenant_id": tenant, "period": "2023-01", "x_row_id": row_id, "x_source": src,
                "day": datetime(2023, 1, 1, tzinfo=UTC).date(), "kind": "usage",
                "cost": Decimal(cost), "markup": Decimal(0), "rated": Decimal(cost),
                "currency": "USD", "fx_rate": Decimal(1), "amount": Decimal(cost),
                "tenant_currency": "USD"}

    folder = rated_dir(cfg.home, "2023-01")
    folder.mkdir(parents=True)
    # EffectiveCost basis: scenario 1 all acme; scenario 3 shared 1:2 by acme and globex.
    pq.write_table(pa.Table.from_pylist([
        rated("acme", src1, row1, "1.00"), rated("acme", src3, row3, "0.25"),
        rated("globex", src3, row3, "0.50")], schema=RATED_COSTS),
        folder / "rated_costs.parquet")
    con = connect(cfg.home)
    try:
        got = con.execute("SELECT split_part(commitment_id, ':', 1), tenant_id, used_cost, "
                          "billed_amount FROM commitment_tenants ORDER BY 1, 2").fetchall()
        summary = {r["commitment_id"].split(":")[0]: (r["utilization_pct"], r["tenants"])
                   for r in commitment_summary(con, Period.parse("2023-01"))}
        html = render_overview(con, cfg, Period.parse("2023-01"))
    finally:
        con.close()
    assert summary["commitment_discount_usage_scenario_3"] == (Decimal("75.0"), "acme, globex")
    assert summary["zero_percent_utilization_without_commitment_discount_flexibility"] == \
        (Decimal("0.0"), None)
    benefited = ", ".join(cfg.tenant(t).name or t for t in ("acme", "globex"))
    assert "<h2>Commitments</h2>" in html and benefited in html  # tenants by name
    assert got == [
        ("commitment_discount_usage_scenario_1", "acme", Decimal("1.00"), Decimal("1.00")),
        ("commitment_discount_usage_scenario_3", "acme", Decimal("0.25"), Decimal("0.25")),
        ("commitment_discount_usage_scenario_3", "globex", Decimal("0.50"), Decimal("0.50")),
    ]


def test_export_target_override_and_idempotency(loop_cfg: Config, retry: Any) -> None:
    cfg = loop_cfg
    export_period(cfg, PERIOD, echo=lambda _: None, retry=retry)
    again = export_period(cfg, PERIOD, echo=lambda _: None, retry=retry)
    assert again.exported == [] and sorted(again.skipped) == ["acme", "globex", "initech"]
    # --target file sends every tenant to file too: the ledger is per (tenant, period, target)
    to_file = export_period(cfg, PERIOD, "file", echo=lambda _: None)
    assert sorted(to_file.exported) == ["acme", "globex", "initech"]
    assert sorted((e.tenant_id, e.target) for e in ledger.read_ledger(cfg.home)) == [
        ("acme", "file"), ("acme", "fossbilling"), ("globex", "file"),
        ("globex", "fossbilling"), ("initech", "blesta"), ("initech", "file")]


def test_blesta_client_of_another_company_is_refused(
        make_config: Callable[[dict[str, Any]], Config], blesta: FakeBlesta,
        secrets_env: None, retry: Any) -> None:
    blesta.client_groups[2] = 2  # a second company's client group
    created = bl(blesta, "POST", "clients/create", {
        "vars[username]": "u2", "vars[new_password]": "p", "vars[confirm_password]": "p",
        "vars[client_group_id]": "2", "vars[first_name]": "F", "vars[last_name]": "L",
        "vars[email]": "u2@x.example"}).json()["response"]
    cfg = make_config({
        "rebill": {"export_to": "blesta"},
        "tenants": [{"id": "initech", "currency": "USD",
                     "billing": {"blesta": int(created["id"])}}],
        "exporters": {"blesta": {"url": blesta.url, "user_env": BL_USER_ENV,
                                 "key_env": BL_KEY_ENV, "company_id": 1}}})
    write_lines(cfg.home, PERIOD, INITECH)
    with pytest.raises(ExportError, match=r"tenants\[initech\]\.billing\.blesta: Blesta client "
                       r"1 belongs to company 2, not exporters\.blesta\.company_id 1"):
        export_period(cfg, PERIOD, echo=lambda _: None, retry=retry)
