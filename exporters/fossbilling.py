"""The FOSSBilling target: admin API over JSON, one invoice per tenant and period.

Quirks honoured (see shared/reference/billing-apis.md): most errors arrive
with HTTP 200 in the ``error`` envelope; a PHP fatal can be plain text; ids
come back as strings; quantity is an integer, so every item is quantity 1 with
price = the line amount and the usage figures in the title; an invoice takes
its client's currency; ``invoice/prepare`` is not atomic.

Idempotency: the first item's title carries a short marker (found with
``invoice/get_list {search}``) and the notes carry the full key (private,
used to confirm). An invoice found by marker whose lines are complete is
adopted; an unapproved one with missing lines and no key (a prepare that
failed half-way) is deleted and made again.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from rebill.config import FossBilling, Tenant
from rebill.errors import ConfigError, ExportError, FatalExportError, RetriableExportError
from rebill.exporters.base import StepHook, no_hook
from rebill.exporters.http import (
    Caller,
    ThrottledError,
    export_retry,
    find_or_create,
    make_client,
    remote_decimal,
    snippet,
    status_error,
)
from rebill.exporters.model import Invoice
from rebill.retry import Retry

AUTH_CODES = range(201, 207)


def _truthy(value: object) -> bool:
    return value in (True, 1, "1", "true", "True")



class FossBillingApi:
    """Thin typed calls to ``/api/admin/<module>/<method>``."""

    def __init__(self, cfg: FossBilling, api_key: str,
                 transport: httpx.BaseTransport | None = None,
                 retry: Retry | None = None) -> None:
        self.cfg = cfg
        client = make_client(cfg.url, ("admin", api_key), cfg.timeout, transport,
                             {"Accept": "application/json"})
        self.caller = Caller("fossbilling", client, retry or export_retry(), (api_key,))

    def close(self) -> None:
        self.caller.client.close()

    def call(self, path: str, body: dict[str, Any], *, creates: bool = False,
             missing_ok: bool = False) -> Any:
        what = path
        request = self.caller.client.build_request("POST", f"/api/admin/{path}", json=body)
        payload: dict[str, Any] = {}

        def check(response: httpx.Response) -> None:
            status_error("fossbilling", what, response,
                         f"check the API key in environment variable {self.cfg.api_key_env}")
            try:
                data = json.loads(response.text, parse_float=Decimal)
            except json.JSONDecodeError:
                raise RetriableExportError(
                    f"fossbilling {what}: answer is not JSON (HTTP {response.status_code}): "
                    f"{self.caller.redact(snippet(response.text))}") from None
            if not isinstance(data, dict) or "result" not in data:
                raise FatalExportError(f"fossbilling {what}: unexpected answer "
                                       f"{self.caller.redact(snippet(response.text))}")
            error = data.get("error")
            if isinstance(error, dict) and error.get("code") == 429:
                raise ThrottledError(f"fossbilling {what}: rate limited (code 429)")
            payload.clear()
            payload.update(data)

        self.caller.send(request, what, creates=creates, check=check)
        error = payload.get("error")
        if not error:
            return payload.get("result")
        message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
        code = error.get("code") if isinstance(error, dict) else None
        message = self.caller.redact(message)
        if code in AUTH_CODES:
            raise FatalExportError(
                f"fossbilling {what}: authentication failed ({message}, code {code}); "
                f"check the API key in environment variable {self.cfg.api_key_env}")
        if missing_ok and "not found" in message.lower():
            return None
        raise FatalExportError(f"fossbilling {what}: {message} (code {code})")


class FossBillingTarget:
    name = "fossbilling"

    def __init__(self, cfg: FossBilling, api_key: str, *, hook: StepHook = no_hook,
                 transport: httpx.BaseTransport | None = None,
                 retry: Retry | None = None) -> None:
        self.cfg = cfg
        self.api = FossBillingApi(cfg, api_key, transport=transport, retry=retry)
        self.retry = retry or export_retry()
        self.hook = hook

    def close(self) -> None:
        self.api.close()

    # ---- requests -------------------------------------------------------
    def items(self, invoice: Invoice) -> list[dict[str, Any]]:
        return [{"title": title, "price": str(ln.amount), "quantity": 1,
                 "taxed": ln.taxed, "type": "custom"}
                for title, ln in zip(invoice.titles(), invoice.lines, strict=True)]

    def due_at(self) -> str:
        return (datetime.now(UTC).date() + timedelta(days=self.cfg.due_days)).isoformat()

    def plan(self, invoice: Invoice, tenant: Tenant | None) -> list[str]:
        tenant = _need_tenant(tenant, invoice)
        base = self.cfg.url.rstrip("/") + "/api/admin/"
        auth = f"(auth: Basic admin:${self.cfg.api_key_env})"
        steps: list[tuple[str, dict[str, Any]]] = []
        if tenant.billing.fossbilling is not None:
            steps.append(("client/get", {"id": tenant.billing.fossbilling}))
        else:
            steps.append(("client/get_list", {"id": tenant.id, "per_page": 100}))
            if tenant.billing.email:
                steps.append(("client/get", {"email": tenant.billing.email}))
            if self.cfg.create_clients:
                steps.append(("currency/get", {"code": invoice.currency}))
                steps.append(("client/create", self.client_body(tenant, invoice, "***")))
        steps.append(("invoice/get_list", {"client_id": "<client_id>",
                                           "search": invoice.marker, "per_page": 100}))
        steps.append(("invoice/prepare", {"client_id": "<client_id>",
                                          "items": self.items(invoice)}))
        steps.append(("invoice/update", {"id": "<invoice_id>", "notes": invoice.key,
                                         "due_at": self.due_at()}))
        if self.cfg.approve:
            steps.append(("invoice/approve", {"id": "<invoice_id>"}))
        return [f"POST {base}{path} {auth} {json.dumps(body, sort_keys=True)}"
                for path, body in steps]

    # ---- client ---------------------------------------------------------
    def client_body(self, tenant: Tenant, invoice: Invoice, password: str) -> dict[str, Any]:
        b = tenant.billing
        return {"email": b.email, "first_name": b.first_name or tenant.name or tenant.id,
                "last_name": b.last_name or "", "company": b.company or tenant.name or "",
                "aid": tenant.id, "currency": invoice.currency, "status": "active",
                "password": password, "send_welcome_email": False}

    def find_client(self, tenant: Tenant) -> dict[str, Any] | None:
        if tenant.billing.fossbilling is not None:
            client = self.api.call("client/get", {"id": tenant.billing.fossbilling},
                                   missing_ok=True)
            if not client:
                raise FatalExportError(
                    f"tenants[{tenant.id}].billing.fossbilling: FOSSBilling client "
                    f"{tenant.billing.fossbilling} not found")
            return dict(client)
        found = self.api.call("client/get_list", {"id": tenant.id, "per_page": 100})
        for item in (found or {}).get("list", []):
            if str(item.get("aid") or "") == tenant.id:
                return dict(item)
        email = tenant.billing.email
        if email:
            client = self.api.call("client/get", {"email": email}, missing_ok=True)
            if client and str(client.get("email", "")).lower() == email.lower():
                return dict(client)
        return None

    def create_client(self, tenant: Tenant, invoice: Invoice) -> dict[str, Any]:
        if not self.cfg.create_clients:
            raise FatalExportError(
                f"tenant {tenant.id}: no FOSSBilling client (set tenants[{tenant.id}]"
                ".billing.fossbilling or billing.email, or exporters.fossbilling."
                "create_clients = true)")
        if not tenant.billing.email:
            raise FatalExportError(f"tenants[{tenant.id}].billing.email is needed to "
                                   "create a FOSSBilling client")
        self.ensure_currency(invoice.currency)
        body = self.client_body(tenant, invoice, secrets.token_urlsafe(24) + "aA1!")
        new_id = self.api.call("client/create", body, creates=True)
        self.hook("client_created")
        return {"id": str(new_id), "currency": invoice.currency}

    def client_id(self, tenant: Tenant, invoice: Invoice) -> str:
        client = find_or_create(lambda: self.find_client(tenant),
                                lambda: self.create_client(tenant, invoice), self.retry)
        currency = str(client.get("currency") or "")
        if currency and currency != invoice.currency:
            raise FatalExportError(
                f"tenant {tenant.id}: FOSSBilling client {client['id']} bills in {currency}, "
                f"the invoice is in {invoice.currency} (an invoice takes its client's currency)")
        if not currency:
            self.ensure_currency(invoice.currency)
            self.api.call("client/update", {"id": client["id"], "currency": invoice.currency})
        return str(client["id"])

    def ensure_currency(self, code: str) -> None:
        find_or_create(
            lambda: self.api.call("currency/get", {"code": code}, missing_ok=True) or None,
            lambda: self.api.call("currency/create", {
                "code": code, "title": code, "format": f"{{{{price}}}} {code}",
                "conversion_rate": "1"}, creates=True), self.retry)

    # ---- invoice --------------------------------------------------------
    def lines_equal(self, remote: dict[str, Any], invoice: Invoice) -> bool:
        lines = remote.get("lines") or []
        if len(lines) != len(invoice.lines):
            return False
        for got, title, ln in zip(lines, invoice.titles(), invoice.lines, strict=True):
            if (got.get("title") != title or remote_decimal(got.get("price")) != ln.amount
                    or remote_decimal(got.get("quantity")) != 1
                    or _truthy(got.get("taxed")) != ln.taxed):
                return False
        return True

    def lookup(self, client_id: str, invoice: Invoice) -> dict[str, Any] | None:
        """The invoice already made for this key, after removing half-made ones."""
        found = self.api.call("invoice/get_list", {"client_id": client_id,
                                                   "search": invoice.marker, "per_page": 100})
        adopt: list[dict[str, Any]] = []
        for item in (found or {}).get("list", []):
            remote = self.api.call("invoice/get", {"id": item["id"]}, missing_ok=True)
            if not remote or str(remote.get("client_id")) != client_id:
                continue
            if not any(invoice.marker in str(ln.get("title", "")) for ln in
                       remote.get("lines") or []):
                continue
            has_key = invoice.key in str(remote.get("notes") or "")
            if self.lines_equal(remote, invoice):
                adopt.append(remote)
            elif not has_key and not _truthy(remote.get("approved")) \
                    and remote.get("status") == "unpaid":
                self.api.call("invoice/delete", {"id": remote["id"]})  # half-made
                self.hook("half_made_deleted")
            else:
                raise FatalExportError(
                    f"fossbilling invoice {remote['id']} for {invoice.key} exists but its "
                    "lines differ from invoice_lines; check it in FOSSBilling (delete it "
                    "if it is wrong) and export again")
        if len(adopt) > 1:
            ids = ", ".join(str(r["id"]) for r in adopt)
            raise FatalExportError(f"fossbilling: several invoices ({ids}) carry {invoice.key}; "
                                   "delete the extra ones")
        return adopt[0] if adopt else None

    def finish(self, remote: dict[str, Any], invoice: Invoice) -> str:
        inv_id = str(remote["id"])
        if invoice.key not in str(remote.get("notes") or ""):
            self.api.call("invoice/update", {"id": inv_id, "notes": invoice.key,
                                             "due_at": self.due_at()})
            self.hook("invoice_updated")
        if self.cfg.approve and not _truthy(remote.get("approved")):
            self.api.call("invoice/approve", {"id": inv_id})
            self.hook("invoice_approved")
        return inv_id

    def create(self, client_id: str, invoice: Invoice) -> str:
        inv_id = self.api.call("invoice/prepare",
                               {"client_id": client_id, "items": self.items(invoice)},
                               creates=True)
        self.hook("invoice_prepared")
        return self.finish({"id": inv_id, "notes": "", "approved": 0}, invoice)

    def push(self, invoice: Invoice, tenant: Tenant | None) -> str:
        tenant = _need_tenant(tenant, invoice)
        client_id = self.client_id(tenant, invoice)

        def create() -> str:
            try:
                return self.create(client_id, invoice)
            except FatalExportError:
                self.lookup(client_id, invoice)  # removes a half-made invoice
                raise

        def find() -> str | None:
            remote = self.lookup(client_id, invoice)
            return None if remote is None else self.finish(remote, invoice)

        return find_or_create(find, create, self.retry)


def _need_tenant(tenant: Tenant | None, invoice: Invoice) -> Tenant:
    if tenant is None:
        raise ConfigError(f"invoice_lines has tenant {invoice.tenant_id!r}, which is not "
                          "in [[tenants]]")
    return tenant


__all__ = ["ExportError", "FossBillingApi", "FossBillingTarget"]
