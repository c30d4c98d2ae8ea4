"""The real Blesta exporter against the fake Blesta server over HTTP."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import pytest

from rebill.config import Config
from rebill.errors import ExportError
from rebill.exporters import export_period, ledger
from rebill.exporters.blesta import php_form
from rebill.retry import Retry
from tests.fakes.blesta import FakeBlesta
from tests.unit.exporters.conftest import BL_KEY_ENV, LINES, expected, write_lines

P = "2026-10"


def run(cfg: Config, retry: Retry, out: list[str] | None = None, **kw: Any) -> Any:
    return export_period(cfg, P, "blesta", retry=retry,
                         echo=(out.append if out is not None else lambda s: None), **kw)


def client_id(fake: FakeBlesta, email: str) -> str:
    return str(next(c["id"] for c in fake.clients.values() if c["email"] == email))


def totals(fake: FakeBlesta, email: str) -> list[list[Decimal]]:
    return [[Decimal(ln["qty"]) * Decimal(ln["amount"]) for ln in inv["line_items"]]
            for inv in fake.invoices_of(client_id(fake, email))]


def assert_exactly_one(fake: FakeBlesta) -> None:
    assert totals(fake, "billing@acme.example") == [expected("acme")]
    assert totals(fake, "ap@globex.example") == [expected("globex")]


def test_php_form_nesting() -> None:
    assert php_form({"vars": {"lines": [{"description": "a", "tax": True}], "x": None},
                     "page": 2}) == [("vars[lines][0][description]", "a"),
                                     ("vars[lines][0][tax]", "1"), ("page", "2")]


def test_creates_clients_and_invoices(cfg: Config, blesta: FakeBlesta, retry: Retry) -> None:
    outcome = run(cfg, retry)
    assert outcome.exported == ["acme", "globex"]
    assert_exactly_one(blesta)
    acme = blesta.clients[1]
    assert acme["settings"] == {"default_currency": "EUR"}
    (inv,) = blesta.invoices_of(acme["id"])
    assert inv["currency"] == "EUR" and inv["status"] == "active"
    assert inv["meta"] == [{"key": "rebill_key", "value": "rebill:acme:2026-10"}]
    assert inv["note_private"] == "rebill:acme:2026-10"
    assert [ln["tax"] for ln in inv["line_items"]] == ["1", "1", "0"]
    assert inv["total"] == "1324.5200"
    (entry,) = ledger.find(cfg.home, "acme", P, "blesta")
    assert entry.external_id == inv["id"] and entry.subtotal == Decimal("1324.52")
    assert run(cfg, retry).skipped == ["acme", "globex"]
    assert_exactly_one(blesta)


def test_existing_client_found_by_exact_email(cfg_for: Any, blesta: FakeBlesta,
                                              retry: Retry) -> None:
    base = {"new_password": "p", "confirm_password": "p", "client_group_id": "1",
            "first_name": "x", "last_name": "y"}
    blesta.clients_create({**base, "username": "u1", "email": "old-billing@acme.example"})
    blesta.clients_create({**base, "username": "u2", "email": "billing@acme.example"})
    config = cfg_for(create_clients=False, globex={"blesta": 1})
    write_lines(config.home, P, LINES)
    run(config, retry)
    assert [len(blesta.invoices_of(c)) for c in ("1", "2")] == [1, 1]
    assert blesta.invoices_of("1")[0]["currency"] == "USD"  # globex, configured id 1


def test_validation_errors_show_their_fields(cfg_for: Any, blesta: FakeBlesta,
                                             retry: Retry) -> None:
    config = cfg_for(acme={"email": "not-an-email"})
    write_lines(config.home, P, LINES)
    with pytest.raises(ExportError, match=r"clients/create: .*email: Please enter a valid "
                                          r"email address.*HTTP 400"):
        run(config, retry, tenant="acme")


def test_bad_credentials_name_the_env_vars(cfg: Config, blesta: FakeBlesta, retry: Retry,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BL_KEY_ENV, "nope-secret-321")
    out: list[str] = []
    with pytest.raises(ExportError) as err:
        run(cfg, retry, out)
    assert BL_KEY_ENV in str(err.value) and "HTTP 401" in str(err.value)
    assert "nope-secret-321" not in str(err.value) + "".join(out)


FAULT_METHODS = ["clients/getList", "clients/create", "invoices/getList", "invoices/get",
                 "invoices/add", "invoices/setMeta"]


@pytest.mark.parametrize("kind", ["500", "error200", "429", "nonjson", "lost"])
@pytest.mark.parametrize("method", FAULT_METHODS)
def test_each_call_failing_once_converges(cfg: Config, blesta: FakeBlesta, retry: Retry,
                                          method: str, kind: str) -> None:
    blesta.fail(method, kind)
    first: list[str] = []
    with contextlib.suppress(ExportError):  # a fatal answer stops that invoice
        first = run(cfg, retry).exported
    if kind in ("429", "500", "error200") and method != "clients/create":
        assert first == ["acme", "globex"]  # retried within the run
    run(cfg, retry)
    assert_exactly_one(blesta)
    for inv in blesta.invoices.values():
        assert inv["meta"]["rebill_key"].startswith("rebill:")


@pytest.mark.parametrize("step", ["client_created", "invoice_added", "meta_set",
                                  "remote_done", "ledger_written"])
def test_crash_between_steps_converges(cfg: Config, blesta: FakeBlesta, retry: Retry,
                                       step: str) -> None:
    class Crash(BaseException):
        pass

    def crash(at: str) -> None:
        if at == step:
            raise Crash(at)

    with pytest.raises(Crash):
        run(cfg, retry, hook=crash)
    run(cfg, retry)
    assert_exactly_one(blesta)


def test_dry_run_sends_nothing_and_hides_secrets(cfg: Config, blesta: FakeBlesta,
                                                 retry: Retry) -> None:
    out: list[str] = []
    run(cfg, retry, out, dry_run=True)
    text = "\n".join(out)
    assert blesta.calls == []
    assert "POST " + blesta.url + "/api/invoices/add.json" in text
    assert "vars[lines][0][amount]=1234.57" in text
    assert blesta.key not in text and blesta.user not in text
