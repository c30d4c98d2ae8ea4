"""A fake Blesta 5.x API over real HTTP (127.0.0.1, ephemeral port).

As in shared/reference/billing-apis.md: ``/api/<model>/<method>.json``; GET and
DELETE read the query string, POST and PUT a form-encoded body (a JSON body is
a 415); PHP-style nested names (``vars[lines][0][description]``); an unknown
top-level parameter is a 500; HTTP Basic or ``BLESTA-API-USER``/``-KEY``
headers (401 otherwise); ``{"response": ...}`` envelope, ``false`` for a
missing record; validation errors are 400 with ``errors: {field: {code:
text}}``; unknown model or method 404. Amounts come back as 4-decimal strings.

Payments as Blesta records them: ``transactions/add`` records a payment
without applying it; ``transactions/apply`` applies (part of) it to invoices
(never more than the transaction's unapplied amount or the invoice's due) and
closes an invoice once nothing is due (``date_closed``); a partial payment
leaves it open with ``paid`` and ``due``. ``transactions/edit`` to a
``refunded``/``void``/``returned`` status unapplies it and reopens the invoice.
``transactions/getApplied`` lists what was applied to an invoice.
``invoices/edit`` updates lines (with ``id``) or adds them. Clients belong to a
company through their client group (``company_id`` in ``clients/get``).

Faults as in the FOSSBilling fake: ``fake.fail("invoices/add", "lost")``.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.blesta_payments import BlestaPayments, InvalidError, _dec, _list
from tests.fakes.faults import Faults, php_parse

PER_PAGE = 20
BAD_SYNTAX = "The request cannot be fulfilled due to bad syntax."


class FakeBlesta(BlestaPayments):
    def __init__(self, user: str = "rebill-api", key: str = "bl-secret-key-456") -> None:
        self.user, self.key = user, key
        self.clients: dict[int, dict[str, Any]] = {}
        self.invoices: dict[int, dict[str, Any]] = {}
        self.next_id = {"client": 1, "invoice": 1, "line": 1}
        self.calls: list[str] = []
        self.faults = Faults()
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.methods: dict[str, Callable[..., Any]] = {
            "clients/get": self.clients_get, "clients/getList": self.clients_get_list,
            "clients/create": self.clients_create, "invoices/add": self.invoices_add,
            "invoices/get": self.invoices_get, "invoices/getList": self.invoices_get_list,
            "invoices/setMeta": self.invoices_set_meta, "invoices/getMeta": self.invoices_get_meta,
            "invoices/delete": self.invoices_delete, "invoices/edit": self.invoices_edit,
            "transactions/add": self.transactions_add,
            "transactions/apply": self.transactions_apply,
            "transactions/edit": self.transactions_edit,
            "transactions/getApplied": self.transactions_get_applied,
        }
        self.client_groups = {1: 1}  # client group id -> company id
        self.transactions: dict[int, dict[str, Any]] = {}
        self.applied: list[dict[str, Any]] = []  # {transaction_id, invoice_id, amount, date}
        self.now = "2026-11-21 09:30:00"  # the server clock (UTC)

    # ---- lifecycle ---------------------------------------------------
    def start(self) -> FakeBlesta:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, method: str, kind: str, nth: int = 1) -> None:
        self.faults.add(method, kind, nth)

    # ---- HTTP --------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, status: int, doc: Any,
              headers: dict[str, str] | None = None) -> None:
        raw = (doc if isinstance(doc, str) else json.dumps(doc)).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json" if not isinstance(doc, str)
                      else "text/html")
        h.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(raw)

    def _authorized(self, h: BaseHTTPRequestHandler) -> bool:
        if h.headers.get("BLESTA-API-USER") == self.user and \
                h.headers.get("BLESTA-API-KEY") == self.key:
            return True
        header = h.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        return base64.b64decode(header[6:]).decode() == f"{self.user}:{self.key}"

    def _handle(self, h: BaseHTTPRequestHandler, verb: str) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        if not self._authorized(h):
            return self._send(h, 401, {"message": "The authorization details given appear "
                                       "to be invalid.", "response": None})
        m = re.match(r"^/api/([a-z_.]+)/(\w+)\.json$", parts.path)
        name = f"{m.group(1)}/{m.group(2)}" if m else ""
        if name not in self.methods:
            return self._send(h, 404, {"message": "The requested resource does not exist.",
                                       "response": None})
        if verb in ("POST", "PUT") and "json" in (h.headers.get("Content-Type") or ""):
            return self._send(h, 415, {"message": "Unsupported format.", "response": None})
        source = parts.query if verb in ("GET", "DELETE") else raw
        params = php_parse(parse_qsl(source, keep_blank_values=True))
        with self.lock:
            self.calls.append(name)
        fault = self.faults.take(name)
        if fault == "500":
            return self._send(h, 500, {"message": "An unexpected error occured.",
                                       "response": "Internal error"})
        if fault == "error200":  # Blesta has no error-with-200: a 503 maintenance page
            return self._send(h, 503, {"message": "Maintenance mode", "response": None})
        if fault == "429":
            return self._send(h, 429, {"message": "Too many requests", "response": None},
                              {"Retry-After": "1"})
        if fault == "nonjson":
            return self._send(h, 200, "<b>Fatal error</b>: Uncaught Exception")
        method = self.methods[name]
        allowed = set(inspect.signature(method).parameters)
        unknown = set(params) - allowed
        if unknown:
            return self._send(h, 500, {"message": "An unexpected error occured.",
                                       "response": f"Unknown parameter {sorted(unknown)[0]}"})
        try:
            with self.lock:
                result = method(**params)
        except InvalidError as err:
            return self._send(h, 400, {"message": BAD_SYNTAX, "errors": err.errors,
                                       "response": None})
        except TypeError as err:
            return self._send(h, 500, {"message": "An unexpected error occured.",
                                       "response": str(err)})
        if fault == "lost":
            return self._send(h, 502, "<html>Bad Gateway</html>")
        return self._send(h, 200, {"response": result})

    # ---- clients -----------------------------------------------------
    def clients_get(self, client_id: str) -> Any:
        client = self.clients.get(int(client_id))
        if not client:
            return False
        return {**client, "company_id": str(self.client_groups[int(client["client_group_id"])])}

    def clients_get_list(self, status: str | None = None, page: str = "1",
                         order_by: Any = None, filters: Any = None) -> list[dict[str, Any]]:
        items = sorted(self.clients.values(), key=lambda c: c["id"])
        if status:
            items = [c for c in items if c["status"] == status]
        email = (filters or {}).get("contact_email")
        if email:
            items = [c for c in items if email.lower() in c["email"].lower()]
        start = (int(page) - 1) * PER_PAGE
        return [dict(c) for c in items[start:start + PER_PAGE]]

    def clients_create(self, vars: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, dict[str, str]] = {}
        for field in ("username", "first_name", "last_name", "email"):
            if not vars.get(field):
                errors[field] = {"empty": f"Please enter a {field.replace('_', ' ')}."}
        if vars.get("email") and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", vars["email"]):
            errors["email"] = {"format": "Please enter a valid email address."}
        if any(c["username"] == vars.get("username") for c in self.clients.values()):
            errors["username"] = {"unique": "That username has already been taken."}
        if not vars.get("new_password") or vars.get("new_password") != \
                vars.get("confirm_password"):
            errors["new_password"] = {"matches": "The passwords do not match."}
        if int(vars.get("client_group_id") or 0) not in self.client_groups:
            errors["client_group_id"] = {"exists": "Please select a valid client group."}
        if errors:
            raise InvalidError(errors)
        cid = self.next_id["client"]
        self.next_id["client"] += 1
        self.clients[cid] = {
            "id": str(cid), "id_code": str(1500 + cid), "username": vars["username"],
            "email": vars["email"], "first_name": vars["first_name"],
            "last_name": vars["last_name"], "company": vars.get("company"), "status": "active",
            "client_group_id": str(vars["client_group_id"]),
            "settings": vars.get("settings") or {},
        }
        return dict(self.clients[cid])

    # ---- invoices ----------------------------------------------------
    def invoices_add(self, vars: dict[str, Any]) -> str:
        errors: dict[str, dict[str, str]] = {}
        if not vars.get("client_id") or int(vars["client_id"]) not in self.clients:
            errors["client_id"] = {"exists": "Invalid client ID."}
        for field in ("date_billed", "date_due"):
            if not vars.get(field):
                errors[field] = {"format": f"Please enter a valid {field.replace('_', ' ')}."}
        if vars.get("date_billed") and vars.get("date_due") and \
                vars["date_due"][:10] < vars["date_billed"][:10]:
            errors["date_due"] = {"after_billed": "The due date must be after the billed date."}
        if not re.fullmatch(r"[A-Z]{3}", str(vars.get("currency") or "")):
            errors["currency"] = {"format": "Please enter a valid currency code."}
        lines = _list(vars.get("lines"))
        for i, ln in enumerate(lines):
            if not ln.get("description"):
                errors[f"lines[{i}][description]"] = {"empty": "Please enter a description."}
            if _dec(ln.get("qty", 1), 4) is None or _dec(ln.get("amount"), 4) is None:
                errors[f"lines[{i}][amount]"] = {"format": "Amount must be a number."}
        if vars.get("status", "active") not in ("active", "draft", "proforma", "void"):
            errors["status"] = {"format": "Invalid status."}
        if errors:
            raise InvalidError(errors)
        iid = self.next_id["invoice"]
        self.next_id["invoice"] += 1
        items = []
        for ln in lines:
            items.append({"id": str(self.next_id["line"]), "invoice_id": str(iid),
                          "description": ln["description"], "qty": _dec(ln.get("qty", 1), 4),
                          "amount": _dec(ln["amount"], 4),
                          "tax": "1" if ln.get("tax") in ("1", "true") else "0"})
            self.next_id["line"] += 1
        self.invoices[iid] = {
            "id": str(iid), "client_id": str(vars["client_id"]), "currency": vars["currency"],
            "status": vars.get("status", "active"), "date_billed": vars["date_billed"],
            "date_due": vars["date_due"], "note_private": vars.get("note_private"),
            "note_public": vars.get("note_public"), "line_items": items, "meta": {},
            "date_closed": None,
        }
        return str(iid)

    def _view(self, inv: dict[str, Any]) -> dict[str, Any]:
        total = self._total(inv)
        paid = self._paid(int(inv["id"]))
        lines = [{**ln, "qty": f"{ln['qty']:.4f}", "amount": f"{ln['amount']:.4f}"}
                 for ln in inv["line_items"]]
        meta = [{"key": k, "value": v} for k, v in sorted(inv["meta"].items())]
        return {**inv, "line_items": lines, "meta": meta, "subtotal": f"{total:.4f}",
                "total": f"{total:.4f}", "paid": f"{paid:.4f}", "due": f"{total - paid:.4f}"}

    def invoices_get(self, invoice_id: str) -> Any:
        inv = self.invoices.get(int(invoice_id))
        return self._view(inv) if inv else False

    def invoices_get_list(self, client_id: str | None = None, status: str = "open",
                          page: str = "1", order_by: Any = None,
                          filters: Any = None) -> list[dict[str, Any]]:
        items = sorted(self.invoices.values(), key=lambda i: int(i["id"]))
        if client_id:
            items = [i for i in items if i["client_id"] == str(client_id)]
        if status != "all":
            wanted = {"open": ("active",)}.get(status, (status,))
            items = [i for i in items if i["status"] in wanted]
        needle = (filters or {}).get("invoice_line")
        if needle:
            items = [i for i in items if any(needle.lower() in ln["description"].lower()
                                             for ln in i["line_items"])]
        start = (int(page) - 1) * PER_PAGE
        return [{k: v for k, v in self._view(i).items() if k not in ("line_items", "meta")}
                for i in items[start:start + PER_PAGE]]

    def invoices_set_meta(self, invoice_id: str, key: str, value: str) -> bool:
        inv = self.invoices.get(int(invoice_id))
        if inv is None:
            return False
        inv["meta"][key] = value
        return True

    def invoices_get_meta(self, invoice_id: str, key: str | None = None) -> Any:
        inv = self.invoices.get(int(invoice_id))
        if inv is None:
            return False
        return [{"key": k, "value": v} for k, v in sorted(inv["meta"].items())
                if key is None or k == key]

    def invoices_delete(self, invoice_id: str) -> bool:
        inv = self.invoices.get(int(invoice_id))
        if inv is None or inv["status"] != "draft":
            return False
        del self.invoices[int(invoice_id)]
        return True

    def invoices_edit(self, invoice_id: str, vars: dict[str, Any]) -> Any:
        inv = self.invoices.get(int(invoice_id))
        if inv is None:
            return False
        if vars.get("currency"):
            inv["currency"] = vars["currency"]
        for ln in _list(vars.get("lines")):
            amount, qty = _dec(ln.get("amount"), 4), _dec(ln.get("qty", 1), 4)
            if amount is None or qty is None:
                raise InvalidError({"amount": {"format": "Amount must be a number."}})
            line = next((x for x in inv["line_items"] if x["id"] == str(ln.get("id"))), None)
            if line is None:
                line = {"id": str(self.next_id["line"]), "invoice_id": str(invoice_id),
                        "description": ln.get("description") or "", "tax": "0"}
                self.next_id["line"] += 1
                inv["line_items"].append(line)
            line.update(qty=qty, amount=amount)
            if ln.get("description"):
                line["description"] = ln["description"]
        return str(invoice_id)

    # ---- test helpers ------------------------------------------------
    def invoices_of(self, client_id: str) -> list[dict[str, Any]]:
        return [self._view(i) for i in self.invoices.values() if i["client_id"] == client_id]
