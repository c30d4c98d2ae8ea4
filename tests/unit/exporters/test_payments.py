"""The fakes learn payments as the real systems record them; reconcile reads every state.

FOSSBilling: ``mark_as_paid`` needs a gateway (Custom also a transaction id) and
renumbers the invoice; ``refund`` of a paid invoice. Blesta: transactions are
recorded, then applied (partially or in full); a refunded transaction is
unapplied. All through httpx, as the exporters talk to them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from rebill.config import Config
from rebill.exporters import ledger
from rebill.exporters.reconcile import reconcile
from rebill.exporters.run import export_period
from rebill.flows.cli import app
from rebill.layout import exports_dir
from tests.fakes.blesta import FakeBlesta
from tests.fakes.fossbilling import FakeFossBilling
from tests.unit.exporters.billing_http import bl, blesta_payment, fb
from tests.unit.exporters.conftest import LINES, write_lines

PERIOD = "2026-10"


def _invoice(fake: FakeFossBilling) -> str:
    cid = fb(fake, "client/create", {"email": "a@b.example", "first_name": "A",
                                     "currency": "USD"})["result"]
    return str(fb(fake, "invoice/prepare", {"client_id": cid, "items": [
        {"title": "EC2", "price": "12.50", "quantity": 1}]})["result"])


def test_fossbilling_mark_as_paid_rules(fossbilling: FakeFossBilling) -> None:
    iid = _invoice(fossbilling)
    assert fb(fossbilling, "invoice/refund", {"id": iid})["error"]["message"] == \
        "Only paid invoices can be refunded"
    assert "gateway is required" in fb(fossbilling, "invoice/mark_as_paid",
                                       {"id": iid})["error"]["message"]
    assert "Transaction ID is required" in fb(fossbilling, "invoice/mark_as_paid", {
        "id": iid, "gateway_id": 1})["error"]["message"]
    before = fb(fossbilling, "invoice/get", {"id": iid})["result"]
    assert (before["status"], before["serie_nr"], before["paid_at"]) == \
        ("unpaid", "FOSS00001", None)
    # 0.6 style: the gateway set on the invoice first, then marked paid.
    assert fb(fossbilling, "invoice/update", {"id": iid, "gateway_id": 2})["result"] is True
    assert fb(fossbilling, "invoice/mark_as_paid", {"id": iid})["result"] is True
    after = fb(fossbilling, "invoice/get", {"id": iid})["result"]
    assert (after["id"], after["status"], after["serie_nr"], after["paid_at"]) == \
        (1, "paid", "PAID00001", "2026-11-20 10:00:00")  # same id, new number
    assert fb(fossbilling, "invoice/mark_as_paid", {"id": iid, "gateway_id": 2})["error"][
        "message"] == "Invoice is already paid"
    assert fb(fossbilling, "invoice/refund", {"id": iid})["result"] is True
    assert fb(fossbilling, "invoice/get", {"id": iid})["result"]["status"] == "refunded"


def test_blesta_transactions_partial_payments(blesta: FakeBlesta) -> None:
    client = bl(blesta, "POST", "clients/create", {
        "vars[username]": "u", "vars[new_password]": "p", "vars[confirm_password]": "p",
        "vars[client_group_id]": "1", "vars[first_name]": "F", "vars[last_name]": "L",
        "vars[email]": "u@x.example"}).json()["response"]["id"]
    iid = bl(blesta, "POST", "invoices/add", {
        "vars[client_id]": client, "vars[currency]": "USD",
        "vars[date_billed]": "2026-11-01T00:00:00+00:00",
        "vars[date_due]": "2026-11-15T00:00:00+00:00",
        "vars[lines][0][description]": "Droplets", "vars[lines][0][qty]": "1",
        "vars[lines][0][amount]": "30.00"}).json()["response"]
    # Recorded but not applied: nothing paid yet.
    txn = bl(blesta, "POST", "transactions/add", {
        "vars[client_id]": client, "vars[amount]": "40.00",
        "vars[currency]": "USD"}).json()["response"]
    got = bl(blesta, "GET", "invoices/get", {"invoice_id": iid}).json()["response"]
    assert (got["paid"], got["due"], got["date_closed"]) == ("0.0000", "30.0000", None)
    over = bl(blesta, "POST", "transactions/apply", {
        "transaction_id": txn, "vars[amounts][0][invoice_id]": iid,
        "vars[amounts][0][amount]": "30.01"})
    assert over.status_code == 400 and "amounts" in over.json()["errors"]
    assert bl(blesta, "POST", "transactions/apply", {
        "transaction_id": txn, "vars[amounts][0][invoice_id]": iid,
        "vars[amounts][0][amount]": "10.00"}).status_code == 200
    got = bl(blesta, "GET", "invoices/get", {"invoice_id": iid}).json()["response"]
    assert (got["paid"], got["due"], got["date_closed"]) == ("10.0000", "20.0000", None)
    second = blesta_payment(blesta, client, iid, "20.00", "USD")
    got = bl(blesta, "GET", "invoices/get", {"invoice_id": iid}).json()["response"]
    assert (got["paid"], got["due"], got["date_closed"]) == \
        ("30.0000", "0.0000", "2026-11-21 09:30:00")
    applied = bl(blesta, "GET", "transactions/getApplied", {"invoice_id": iid}).json()
    assert [a["applied_amount"] for a in applied["response"]] == ["10.0000", "20.0000"]
    # A refunded transaction is unapplied: the invoice is open again.
    assert bl(blesta, "PUT", "transactions/edit", {
        "transaction_id": second, "vars[status]": "refunded"}).status_code == 200
    got = bl(blesta, "GET", "invoices/get", {"invoice_id": iid}).json()["response"]
    assert (got["paid"], got["date_closed"]) == ("10.0000", None)


def _exported(loop_cfg: Config, retry: Any) -> dict[str, str]:
    export_period(loop_cfg, PERIOD, echo=lambda _: None, retry=retry)
    return {e.tenant_id: e.external_id for e in ledger.read_ledger(loop_cfg.home)}


def test_reconcile_states(loop_cfg: Config, fossbilling: FakeFossBilling, blesta: FakeBlesta,
                          retry: Any) -> None:
    ids = _exported(loop_cfg, retry)
    # acme: paid then refunded; globex: overdue; initech: voided in Blesta.
    fb(fossbilling, "invoice/mark_as_paid", {"id": ids["acme"], "gateway_id": 2})
    fb(fossbilling, "invoice/refund", {"id": ids["acme"]})
    fb(fossbilling, "invoice/update", {"id": ids["globex"], "due_at": "2026-01-31"})
    blesta.invoices[int(ids["initech"])]["status"] = "void"
    report = reconcile(loop_cfg, PERIOD, echo=lambda _: None, retry=retry)
    assert {r["tenant_id"]: r["status"] for r in report.receivables} == {
        "acme": "refunded", "globex": "overdue", "initech": "void"}
    assert not report.drift and not report.failed


def test_reconcile_drift_kinds(loop_cfg: Config, fossbilling: FakeFossBilling,
                               blesta: FakeBlesta, retry: Any) -> None:
    ids = _exported(loop_cfg, retry)
    export_period(loop_cfg, PERIOD, "file", tenant="globex", echo=lambda _: None)
    fb(fossbilling, "invoice/delete", {"id": ids["globex"]})  # deleted
    fb(fossbilling, "invoice/update", {"id": ids["acme"], "new_item": {  # a line added
        "title": "Late fee", "price": "5.00", "quantity": 1}})
    assert bl(blesta, "PUT", "invoices/edit", {  # re-currencied
        "invoice_id": ids["initech"], "vars[currency]": "EUR"}).status_code == 200
    path = exports_dir(loop_cfg.home, PERIOD) / "globex.json"  # the file copy edited
    doc = json.loads(path.read_text())
    doc["lines"][0]["amount"] = "0.02"
    path.write_text(json.dumps(doc))
    report = reconcile(loop_cfg, PERIOD, echo=lambda _: None, retry=retry)
    got = sorted((d.entry.tenant_id, d.entry.target, d.kind, d.difference)
                 for d in report.drift)
    assert got == [("acme", "fossbilling", "line_added", Decimal("5.00")),
                   ("globex", "file", "line_amount", Decimal("0.01")),
                   ("globex", "fossbilling", "missing", None),
                   ("initech", "blesta", "currency", None)]
    statuses = {(r["tenant_id"], r["target"]): r["status"] for r in report.receivables}
    assert statuses[("globex", "fossbilling")] == "missing"
    assert statuses[("globex", "file")] == "not_tracked"


def test_reconcile_cli_exit_and_unreachable_target(
        tmp_path: Any, fossbilling: FakeFossBilling, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_FB", fossbilling.token)
    toml = tmp_path / "rebill.toml"
    toml.write_text(f'[rebill]\nhome = "home"\n[[tenants]]\nid = "acme"\ncurrency = "EUR"\n'
                    f'target = "fossbilling"\nbilling = {{ email = "a@acme.example" }}\n'
                    f'[exporters.fossbilling]\nurl = "{fossbilling.url}"\n'
                    f'api_key_env = "TEST_FB"\ncreate_clients = true\n')
    write_lines(tmp_path / "home", PERIOD, [ln for ln in LINES if ln["tenant_id"] == "acme"])
    runner = CliRunner()
    exported = runner.invoke(app, ["export", "--period", PERIOD, "--config", str(toml)])
    assert exported.exit_code == 0, exported.output
    ok = runner.invoke(app, ["reconcile", "--period", PERIOD, "--config", str(toml)])
    assert ok.exit_code == 0, ok.output
    assert "acme 2026-10 fossbilling 1 (FOSS00001): unpaid, paid 0.00 of 1324.52 EUR" \
        in ok.output
    fossbilling.stop()  # the billing system is down: one clear line, non-zero exit
    down = runner.invoke(app, ["reconcile", "--config", str(toml)])
    assert down.exit_code == 1
    assert "failed: acme 2026-10 fossbilling: fossbilling invoice/get:" in down.output
    assert "Traceback" not in down.output


def test_nightly_step_reports_drift_as_warnings(loop_cfg: Config, fossbilling: FakeFossBilling,
                                                retry: Any) -> None:
    from rebill.flows.nightly import _reconcile

    ids = _exported(loop_cfg, retry)
    assert _reconcile(loop_cfg, lambda _: None) == []
    fb(fossbilling, "invoice/delete", {"id": ids["globex"]})
    assert _reconcile(loop_cfg, lambda _: None) == [
        f"reconciliation: globex {PERIOD} fossbilling {ids['globex']}: missing: invoice "
        f"{ids['globex']} is gone from fossbilling (deleted?)"]


def test_tenant_target_needs_its_exporter(make_config: Any) -> None:
    from rebill.errors import ConfigError

    with pytest.raises(ConfigError, match=r"tenants\[0\]\.target: 'blesta' needs an "
                       r"\[exporters\.blesta\] table"):
        make_config({"tenants": [{"id": "a", "target": "blesta"}]})
