"""The real FOSSBilling exporter against the fake FOSSBilling server over HTTP."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import pytest

from rebill.config import Config
from rebill.errors import ConfigError, ExportError
from rebill.exporters import export_period, ledger
from rebill.normalize.catalog import connect
from rebill.retry import Retry
from tests.fakes.fossbilling import FakeFossBilling
from tests.unit.exporters.conftest import FB_ENV, LINES, expected, write_lines

P = "2026-10"


def run(cfg: Config, retry: Retry, out: list[str] | None = None, **kw: Any) -> Any:
    return export_period(cfg, P, "fossbilling", retry=retry,
                         echo=(out.append if out is not None else lambda s: None), **kw)


def amounts(fake: FakeFossBilling, tenant: str) -> list[list[Decimal]]:
    """Line prices of each invoice of ``tenant``'s client (one list per invoice)."""
    client = fake.client_by_aid(tenant)
    assert client is not None
    return [[Decimal(str(ln["price"])) for ln in inv["lines"]]
            for inv in fake.invoices_of(client["id"])]


def assert_exactly_one(fake: FakeFossBilling) -> None:
    for tenant in ("acme", "globex"):
        assert amounts(fake, tenant) == [expected(tenant)], tenant


def test_creates_clients_and_invoices(cfg: Config, fossbilling: FakeFossBilling,
                                      retry: Retry) -> None:
    outcome = run(cfg, retry)
    assert outcome.exported == ["acme", "globex"]
    assert_exactly_one(fossbilling)
    acme = fossbilling.client_by_aid("acme")
    assert acme and acme["currency"] == "EUR" and acme["status"] == "active"
    assert acme["email"] == "billing@acme.example"
    assert "EUR" in fossbilling.currencies
    (inv,) = fossbilling.invoices_of(acme["id"])
    assert inv["currency"] == "EUR" and inv["approved"] == 1
    assert inv["notes"] == "rebill:acme:2026-10"
    assert [ln["quantity"] for ln in inv["lines"]] == [1, 1, 1]
    assert [ln["taxed"] for ln in inv["lines"]] == [True, True, False]
    assert inv["lines"][0]["title"].startswith("AWS Amazon EC2 (720.5 Hours) [rb-")
    assert inv["subtotal"] == pytest.approx(1324.52)
    con = connect(cfg.home)
    rows = con.execute("SELECT tenant_id, status, target, external_id FROM invoices "
                       "ORDER BY tenant_id").fetchall()
    con.close()
    assert rows == [("acme", "exported", "fossbilling", str(inv["id"])),
                    ("globex", "exported", "fossbilling", rows[1][3])]


def test_second_run_changes_nothing(cfg: Config, fossbilling: FakeFossBilling,
                                    retry: Retry) -> None:
    run(cfg, retry)
    calls = len(fossbilling.calls)
    outcome = run(cfg, retry)
    assert outcome.skipped == ["acme", "globex"] and not outcome.exported
    assert len(fossbilling.calls) == calls  # the ledger answers, no remote call
    assert_exactly_one(fossbilling)


def test_lost_ledger_adopts_remote_invoice(cfg: Config, fossbilling: FakeFossBilling,
                                           retry: Retry) -> None:
    run(cfg, retry)
    (cfg.home / "state" / "exports.parquet").unlink()
    outcome = run(cfg, retry)
    assert outcome.exported == ["acme", "globex"]
    assert "invoice/prepare" not in fossbilling.calls[-6:]
    assert_exactly_one(fossbilling)


def test_configured_id_and_email_match(cfg_for: Any, fossbilling: FakeFossBilling,
                                       retry: Retry) -> None:
    fossbilling.m_client_create({"email": "ap@globex.example", "first_name": "G",
                                 "currency": "USD"})
    fossbilling.m_client_create({"email": "x@acme.example", "first_name": "A",
                                 "currency": "EUR"})
    config = cfg_for(create_clients=False, acme={"fossbilling": 2})
    write_lines(config.home, P, LINES)
    run(config, retry)
    assert [len(fossbilling.invoices_of(c)) for c in (1, 2)] == [1, 1]
    assert len(fossbilling.clients) == 2


def test_missing_client_is_a_clear_error(cfg_for: Any, fossbilling: FakeFossBilling,
                                         retry: Retry) -> None:
    config = cfg_for(create_clients=False)
    write_lines(config.home, P, LINES)
    with pytest.raises(ExportError, match=r"no FOSSBilling client .*create_clients"):
        run(config, retry)
    assert not fossbilling.invoices


def test_client_in_other_currency_is_refused(cfg: Config, fossbilling: FakeFossBilling,
                                             retry: Retry) -> None:
    fossbilling.m_client_create({"email": "billing@acme.example", "first_name": "A",
                                 "currency": "USD"})
    with pytest.raises(ExportError, match="bills in USD, the invoice is in EUR"):
        run(cfg, retry, tenant="acme")


FAULT_METHODS = ["client/get_list", "client/get", "currency/get", "currency/create",
                 "client/create", "invoice/get_list", "invoice/get", "invoice/prepare",
                 "invoice/update", "invoice/approve"]


@pytest.mark.parametrize("kind", ["500", "error200", "429", "nonjson", "lost"])
@pytest.mark.parametrize("method", FAULT_METHODS)
def test_each_call_failing_once_converges(cfg: Config, fossbilling: FakeFossBilling,
                                          retry: Retry, method: str, kind: str) -> None:
    fossbilling.fail(method, kind)
    first: list[str] = []
    with contextlib.suppress(ExportError):  # a fatal answer stops that invoice
        first = run(cfg, retry).exported
    if kind in ("429", "500") and method != "client/create":
        assert first == ["acme", "globex"]  # retried within the run
    run(cfg, retry)
    assert_exactly_one(fossbilling)
    assert {e.tenant_id for e in ledger.read_ledger(cfg.home)} == {"acme", "globex"}


def test_partial_prepare_is_cleaned_up(cfg: Config, fossbilling: FakeFossBilling,
                                       retry: Retry) -> None:
    fossbilling.fail("invoice/prepare", "partial")
    with pytest.raises(ExportError, match="Invoice item price is invalid"):
        run(cfg, retry, tenant="acme")
    assert not fossbilling.invoices  # the half-made invoice was deleted at once
    assert fossbilling.calls[-2:] == ["invoice/get", "invoice/delete"]
    run(cfg, retry)
    assert_exactly_one(fossbilling)


def test_half_made_invoice_left_by_a_crash_is_replaced(cfg: Config,
                                                       fossbilling: FakeFossBilling,
                                                       retry: Retry) -> None:
    # prepare stores the first item then fails, and the clean-up lookup fails too.
    fossbilling.fail("invoice/prepare", "partial")
    for nth in range(2, 40):
        fossbilling.fail("invoice/get_list", "500", nth=nth)
    with pytest.raises(ExportError):
        run(cfg, retry, tenant="acme")
    (half,) = fossbilling.invoices.values()
    assert len(half["lines"]) == 1
    fossbilling.faults.clear()
    run(cfg, retry)
    assert_exactly_one(fossbilling)


STEPS = ["client_created", "invoice_prepared", "invoice_updated", "invoice_approved",
         "remote_done", "ledger_written"]


@pytest.mark.parametrize("step", STEPS)
def test_crash_between_steps_converges(cfg: Config, fossbilling: FakeFossBilling,
                                       retry: Retry, step: str) -> None:
    class Crash(BaseException):
        pass

    def crash(at: str) -> None:
        if at == step:
            raise Crash(at)

    with pytest.raises(Crash):
        run(cfg, retry, hook=crash)
    run(cfg, retry)
    run(cfg, retry)
    assert_exactly_one(fossbilling)
    for inv in fossbilling.invoices.values():
        assert inv["approved"] == 1 and inv["notes"].startswith("rebill:")


def test_adopted_invoice_with_other_lines_is_an_error(cfg: Config,
                                                      fossbilling: FakeFossBilling,
                                                      retry: Retry) -> None:
    class Crash(BaseException):
        pass

    def crash(at: str) -> None:
        if at == "remote_done":
            raise Crash(at)

    with pytest.raises(Crash):
        run(cfg, retry, tenant="acme", hook=crash)
    changed = [{**ln, "amount": ln["amount"] + 1} if ln["line_no"] == 1 else ln for ln in LINES]
    write_lines(cfg.home, P, changed)
    with pytest.raises(ExportError, match=r"fossbilling invoice \d+ for rebill:acme:2026-10 "
                                          "exists but its lines differ"):
        run(cfg, retry, tenant="acme")
    assert len(fossbilling.invoices) == 1


def test_401_names_the_env_var_and_hides_the_key(cfg: Config, fossbilling: FakeFossBilling,
                                                 retry: Retry,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FB_ENV, "wrong-key-987")
    out: list[str] = []
    with pytest.raises(ExportError) as err:
        run(cfg, retry, out)
    assert FB_ENV in str(err.value) and "HTTP 401" in str(err.value)
    assert "wrong-key-987" not in str(err.value) + "".join(out)


def test_missing_key_names_the_env_var(cfg: Config, retry: Retry,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FB_ENV)
    with pytest.raises(ConfigError, match=FB_ENV):
        run(cfg, retry)


def test_429_honours_retry_after(cfg: Config, fossbilling: FakeFossBilling,
                                 retry: Retry, sleeps: list[float]) -> None:
    fossbilling.fail("invoice/get_list", "429")
    run(cfg, retry)
    assert sleeps == [1.0]
    assert_exactly_one(fossbilling)


def test_5xx_backoff_is_bounded(cfg: Config, fossbilling: FakeFossBilling,
                                retry: Retry, sleeps: list[float],
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    for nth in range(1, 20):
        fossbilling.fail("client/get_list", "500", nth=nth)
    with pytest.raises(ExportError, match=r"server error \(HTTP 500\)"):
        run(cfg, retry, tenant="acme")
    assert len(sleeps) == retry.attempts - 1
    assert all(0 < s <= retry.cap for s in sleeps)
    assert not fossbilling.invoices
    assert "retry 3/3" in caplog.text and fossbilling.token not in caplog.text


def test_dry_run_sends_nothing_and_hides_secrets(cfg: Config, fossbilling: FakeFossBilling,
                                                 retry: Retry) -> None:
    out: list[str] = []
    run(cfg, retry, out, dry_run=True)
    text = "\n".join(out)
    assert fossbilling.calls == []
    assert "/api/admin/invoice/prepare" in text and "1234.57" in text
    assert f"${FB_ENV}" in text and fossbilling.token not in text
    assert ledger.read_ledger(cfg.home) == []


def test_changed_lines_are_refused(cfg: Config, fossbilling: FakeFossBilling,
                                   retry: Retry) -> None:
    run(cfg, retry)
    changed = [{**ln, "amount": ln["amount"] + 1} if ln["tenant_id"] == "acme" else ln
               for ln in LINES]
    write_lines(cfg.home, P, changed)
    with pytest.raises(ExportError, match="correction lines on the next open period"):
        run(cfg, retry)
    assert_exactly_one(fossbilling)
