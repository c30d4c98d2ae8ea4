"""The Blesta target: ``/api/<model>/<method>.json`` with PHP-style form parameters.

GET and DELETE carry parameters in the query string, POST and PUT in a
form-encoded body; arrays nest the PHP way (``vars[lines][0][description]``).
A missing record is ``{"response": false}``; validation errors are HTTP 400
with ``errors: {field: {code: text}}``.

Idempotency: the first line's description carries a short marker (found with
``getList`` and the ``invoice_line`` filter); the full key is stored privately
in ``note_private`` by ``add`` itself and in the invoice's meta (``setMeta``).
``Invoices::add`` is atomic, so an invoice found by marker is complete: it is
adopted when its lines equal ``invoice_lines``, else the export stops.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from rebill.config import Blesta, Tenant
from rebill.errors import ConfigError, FatalExportError, RetriableExportError
from rebill.exporters.base import StepHook, no_hook
from rebill.exporters.http import (
    Caller,
    export_retry,
    find_or_create,
    make_client,
    remote_decimal,
    snippet,
    status_error,
)
from rebill.exporters.model import Invoice
from rebill.retry import Retry

META_KEY = "rebill_key"
MAX_PAGES = 100


def php_form(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested dicts/lists into PHP form pairs (``a[b][0][c]=v``)."""
    out: list[tuple[str, str]] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{name}[{k}]", v)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(f"{name}[{i}]", v)
        elif isinstance(value, bool):
            out.append((name, "1" if value else "0"))
        elif value is not None:
            out.append((name, str(value)))

    for key, value in params.items():
        walk(key, value)
    return out



def _truthy(value: object) -> bool:
    return value in (True, 1, "1", "true")


class BlestaApi:
    def __init__(self, cfg: Blesta, user: str, key: str,
                 transport: httpx.BaseTransport | None = None,
                 retry: Retry | None = None) -> None:
        self.cfg = cfg
        client = make_client(cfg.url, (user, key), cfg.timeout, transport,
                             {"BLESTA-API-USER": user, "BLESTA-API-KEY": key,
                              "Accept": "application/json"})
        self.caller = Caller("blesta", client, retry or export_retry(), (user, key))

    def close(self) -> None:
        self.caller.client.close()

    def request(self, method: str, path: str, params: dict[str, Any]) -> httpx.Request:
        url = f"/api/{path}.json"
        pairs = php_form(params)
        if method in ("GET", "DELETE"):
            return self.caller.client.build_request(method, url, params=urlencode(pairs))
        return self.caller.client.build_request(
            method, url, content=urlencode(pairs).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def call(self, method: str, path: str, params: dict[str, Any], *,
             creates: bool = False) -> Any:
        payload: dict[str, Any] = {}

        def check(response: httpx.Response) -> None:
            status_error("blesta", path, response,
                         f"check environment variables {self.cfg.user_env} and "
                         f"{self.cfg.key_env}")
            try:
                data = json.loads(response.text, parse_float=Decimal)
            except json.JSONDecodeError:
                raise RetriableExportError(
                    f"blesta {path}: answer is not JSON (HTTP {response.status_code}): "
                    f"{self.caller.redact(snippet(response.text))}") from None
            if not isinstance(data, dict):
                raise FatalExportError(f"blesta {path}: unexpected answer "
                                       f"{self.caller.redact(snippet(response.text))}")
            if response.status_code != 200:
                raise FatalExportError(self.caller.redact(_error_line(path, response, data)))
            payload.update(data)

        self.caller.send(self.request(method, path, params), path, creates=creates,
                         check=check)
        return payload.get("response")


def _error_line(path: str, response: httpx.Response, data: dict[str, Any]) -> str:
    message = str(data.get("message") or "error")
    fields = []
    errors = data.get("errors")
    if isinstance(errors, dict):
        for field, detail in errors.items():
            text = "; ".join(str(v) for v in detail.values()) if isinstance(detail, dict) \
                else str(detail)
            fields.append(f"{field}: {text}")
    extra = f" ({', '.join(fields)})" if fields else ""
    return f"blesta {path}: {message}{extra} (HTTP {response.status_code})"


class BlestaTarget:
    name = "blesta"

    def __init__(self, cfg: Blesta, user: str, key: str, *, hook: StepHook = no_hook,
                 transport: httpx.BaseTransport | None = None,
                 retry: Retry | None = None) -> None:
        self.cfg = cfg
        self.api = BlestaApi(cfg, user, key, transport=transport, retry=retry)
        self.retry = retry or export_retry()
        self.hook = hook

    def close(self) -> None:
        self.api.close()

    # ---- requests -------------------------------------------------------
    def invoice_vars(self, client_id: str, invoice: Invoice) -> dict[str, Any]:
        billed = datetime.now(UTC).replace(microsecond=0)
        due = billed + timedelta(days=self.cfg.due_days)
        return {
            "client_id": client_id, "date_billed": billed.isoformat(),
            "date_due": due.isoformat(), "currency": invoice.currency,
            "status": self.cfg.status, "note_private": invoice.key,
            "lines": [{"description": title, "qty": "1", "amount": str(ln.amount),
                       "tax": ln.taxed}
                      for title, ln in zip(invoice.titles(), invoice.lines, strict=True)],
        }

    def client_vars(self, tenant: Tenant, invoice: Invoice, password: str) -> dict[str, Any]:
        b = tenant.billing
        return {"username": b.email, "new_password": password, "confirm_password": password,
                "client_group_id": self.cfg.client_group_id,
                "first_name": b.first_name or tenant.name or tenant.id,
                "last_name": b.last_name or tenant.id, "company": b.company or tenant.name,
                "email": b.email, "settings": {"default_currency": invoice.currency},
                "send_registration_email": False}

    def plan(self, invoice: Invoice, tenant: Tenant | None) -> list[str]:
        tenant = _need_tenant(tenant, invoice)
        steps: list[tuple[str, str, dict[str, Any]]] = []
        if tenant.billing.blesta is not None:
            steps.append(("GET", "clients/get", {"client_id": tenant.billing.blesta}))
        else:
            steps.append(("GET", "clients/getList", {
                "status": "active", "page": 1,
                "filters": {"contact_email": tenant.billing.email}}))
            if self.cfg.create_clients:
                steps.append(("POST", "clients/create",
                              {"vars": self.client_vars(tenant, invoice, "***")}))
        steps.append(("GET", "invoices/getList", {"client_id": "<client_id>", "status": "all",
                                                  "filters": {"invoice_line": invoice.marker}}))
        steps.append(("POST", "invoices/add",
                      {"vars": self.invoice_vars("<client_id>", invoice)}))
        steps.append(("POST", "invoices/setMeta", {"invoice_id": "<invoice_id>",
                                                   "key": META_KEY, "value": invoice.key}))
        base = self.cfg.url.rstrip("/")
        auth = f"(auth: ${self.cfg.user_env}:${self.cfg.key_env})"
        return [f"{m} {base}/api/{p}.json {auth} "
                + "&".join(f"{k}={v}" for k, v in php_form(params))
                for m, p, params in steps]

    # ---- client ---------------------------------------------------------
    def find_client(self, tenant: Tenant) -> str | None:
        if tenant.billing.blesta is not None:
            client = self.api.call("GET", "clients/get", {"client_id": tenant.billing.blesta})
            if not client:
                raise FatalExportError(f"tenants[{tenant.id}].billing.blesta: Blesta client "
                                       f"{tenant.billing.blesta} not found")
            return str(client["id"])
        email = tenant.billing.email
        if not email:
            return None
        for page in range(1, MAX_PAGES + 1):
            found = self.api.call("GET", "clients/getList", {
                "status": "active", "page": page, "filters": {"contact_email": email}})
            if not found:
                return None
            for client in found:
                if str(client.get("email", "")).lower() == email.lower():
                    return str(client["id"])
        return None

    def client_id(self, tenant: Tenant, invoice: Invoice) -> str:
        return find_or_create(lambda: self.find_client(tenant),
                              lambda: self.create_client(tenant, invoice), self.retry)

    def create_client(self, tenant: Tenant, invoice: Invoice) -> str:
        if not self.cfg.create_clients:
            raise FatalExportError(
                f"tenant {tenant.id}: no Blesta client (set tenants[{tenant.id}].billing.blesta "
                "or billing.email, or exporters.blesta.create_clients = true)")
        if not tenant.billing.email:
            raise FatalExportError(f"tenants[{tenant.id}].billing.email is needed to create "
                                   "a Blesta client")
        password = secrets.token_urlsafe(24) + "aA1!"
        client = self.api.call("POST", "clients/create",
                               {"vars": self.client_vars(tenant, invoice, password)},
                               creates=True)
        self.hook("client_created")
        return str(client["id"] if isinstance(client, dict) else client)

    # ---- invoice --------------------------------------------------------
    def lines_equal(self, remote: dict[str, Any], invoice: Invoice) -> bool:
        lines = remote.get("line_items") or []
        if len(lines) != len(invoice.lines) or remote.get("currency") != invoice.currency:
            return False
        for got, title, ln in zip(lines, invoice.titles(), invoice.lines, strict=True):
            qty, amount = remote_decimal(got.get("qty")), remote_decimal(got.get("amount"))
            if (got.get("description") != title or qty is None or amount is None
                    or qty * amount != ln.amount):
                return False
            # Blesta versions differ: a "tax" flag, or only the applied "taxes".
            if "tax" in got and _truthy(got.get("tax")) != ln.taxed:
                return False
        return True

    def has_key(self, remote: dict[str, Any], key: str) -> bool:
        meta = remote.get("meta") or []
        items = meta.items() if isinstance(meta, dict) else (
            (m.get("key"), m.get("value")) for m in meta if isinstance(m, dict))
        return any(k == META_KEY and v == key for k, v in items)

    def lookup(self, client_id: str, invoice: Invoice) -> dict[str, Any] | None:
        adopt = []
        for page in range(1, MAX_PAGES + 1):
            found = self.api.call("GET", "invoices/getList", {
                "client_id": client_id, "status": "all", "page": page,
                "filters": {"invoice_line": invoice.marker}})
            if not found:
                break
            for item in found:
                remote = self.api.call("GET", "invoices/get", {"invoice_id": item["id"]})
                if not remote or remote.get("status") == "void":
                    continue
                if self.lines_equal(remote, invoice):
                    adopt.append(remote)
                else:
                    raise FatalExportError(
                        f"blesta invoice {remote['id']} for {invoice.key} exists but its lines "
                        "differ from invoice_lines; check it in Blesta (void it if it is "
                        "wrong) and export again")
        if len(adopt) > 1:
            ids = ", ".join(str(r["id"]) for r in adopt)
            raise FatalExportError(f"blesta: several invoices ({ids}) carry {invoice.key}; "
                                   "void the extra ones")
        return adopt[0] if adopt else None

    def finish(self, remote: dict[str, Any], invoice: Invoice) -> str:
        inv_id = str(remote["id"])
        if not self.has_key(remote, invoice.key):
            self.api.call("POST", "invoices/setMeta",
                          {"invoice_id": inv_id, "key": META_KEY, "value": invoice.key})
            self.hook("meta_set")
        return inv_id

    def push(self, invoice: Invoice, tenant: Tenant | None) -> str:
        tenant = _need_tenant(tenant, invoice)
        client_id = self.client_id(tenant, invoice)

        def create() -> str:
            inv_id = self.api.call("POST", "invoices/add",
                                   {"vars": self.invoice_vars(client_id, invoice)},
                                   creates=True)
            self.hook("invoice_added")
            return self.finish({"id": inv_id, "meta": []}, invoice)

        def find() -> str | None:
            remote = self.lookup(client_id, invoice)
            return None if remote is None else self.finish(remote, invoice)

        return find_or_create(find, create, self.retry)


def _need_tenant(tenant: Tenant | None, invoice: Invoice) -> Tenant:
    if tenant is None:
        raise ConfigError(f"invoice_lines has tenant {invoice.tenant_id!r}, which is not "
                          "in [[tenants]]")
    return tenant
