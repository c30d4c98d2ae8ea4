"""A fake FOSSBilling admin API over real HTTP (127.0.0.1, ephemeral port).

Behaves like FOSSBilling 0.6/0.8 as described in shared/reference/billing-apis.md:
``POST /api/admin/<module>/<method>`` (``index.php?_url=`` too), JSON or form
bodies, HTTP Basic ``admin:<token>``, the ``{"result", "error"}`` envelope with
most errors on HTTP 200, ids returned as strings, money as JSON floats, prices
stored with 2 decimals, integer quantities (truncated, at least 1), the
invoice taking its client's currency, a non-atomic ``invoice/prepare`` and
``invoice/get_list`` ``search`` matching any line title.

Payments: ``invoice/mark_as_paid`` needs a ``gateway_id`` (0.8; the built-in
Custom gateway, id 1, also needs a ``transactionId``), sets ``paid_at`` and
renumbers the invoice (its series changes from ``FOSS`` to the paid series
``PAID`` and it takes the next paid number; the id stays). ``invoice/refund``
turns a paid invoice into ``refunded``. ``invoice/update {items: {<item_id>:
{...}}}`` edits lines, as staff would.

Faults: ``fake.fail("invoice/prepare", "500", nth=1)`` makes the nth next call
of that method fail once: ``500`` (HTML page), ``error200`` (error envelope),
``429`` (with Retry-After), ``nonjson`` (PHP fatal text, HTTP 200), ``lost``
(the call is applied, the answer is a 502) or, for ``invoice/prepare``,
``partial`` (the first item is stored, then an item error).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.faults import Faults, php_parse


class FossError(Exception):
    def __init__(self, message: str, code: int = 9999) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _money(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except ArithmeticError:
        raise FossError(f"{what} must be a number") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, "", "0", 0):
        return False
    if value in ("1", 1):
        return True
    # FOSSBilling inserts the raw value; MySQL rejects "false" for a TINYINT (seen).
    raise FossError(f"SQLSTATE[HY000]: General error: 1366 Incorrect integer value: '{value}'")


def _page(items: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    per_page = min(int(data.get("per_page") or 100), 500)
    page = max(int(data.get("page") or 1), 1)
    chunk = items[(page - 1) * per_page: page * per_page]
    pages = max(1, -(-len(items) // per_page))
    return {"pages": pages, "page": page, "per_page": per_page, "total": len(items),
            "list": chunk}


class FakeFossBilling:
    def __init__(self, token: str = "fb-secret-token-123", default_currency: str = "USD") -> None:
        self.token = token
        self.default_currency = default_currency
        self.clients: dict[int, dict[str, Any]] = {}
        self.currencies: dict[str, dict[str, Any]] = {
            default_currency: {"code": default_currency, "conversion_rate": 1, "is_default": 1}}
        self.invoices: dict[int, dict[str, Any]] = {}
        self.next_id = {"client": 1, "invoice": 1, "line": 1, "paid_nr": 1}
        self.gateways = {1: "Custom", 2: "PayPalEmail"}
        self.now = "2026-11-20 10:00:00"  # the server clock for paid_at (UTC)
        self.calls: list[str] = []
        self.bodies: list[tuple[str, str]] = []
        self.faults = Faults()
        self.lock = threading.RLock()
        self._partial = False
        self._server: ThreadingHTTPServer | None = None

    # ---- lifecycle ---------------------------------------------------
    def start(self) -> FakeFossBilling:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

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
    def _send(self, h: BaseHTTPRequestHandler, status: int, body: str,
              ctype: str = "application/json", headers: dict[str, str] | None = None) -> None:
        raw = body.encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(raw)

    def _envelope(self, h: BaseHTTPRequestHandler, result: Any = None,
                  error: FossError | None = None, status: int = 200) -> None:
        err = {"message": error.message, "code": error.code} if error else None
        self._send(h, status, json.dumps({"result": None if error else result, "error": err}))

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        query = dict(parse_qsl(parts.query))
        if path.endswith("index.php") and "_url" in query:
            path = query["_url"]
        m = re.match(r"^/api/(guest|client|admin)/(.+)$", path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        if not m:
            return self._send(h, 404, "<html>Page not found</html>", "text/html")
        role, rest = m.groups()
        if role != "admin" or not self._authorized(h):
            return self._envelope(h, error=FossError("Authentication Failed", 205), status=401)
        module, _, method = rest.replace("/", "_").partition("_")
        name = f"{module}/{method}"
        with self.lock:
            self.calls.append(name)
            self.bodies.append((name, raw))
        try:
            if raw.lstrip().startswith("{"):
                data = json.loads(raw)
            else:
                data = php_parse(parse_qsl(raw, keep_blank_values=True))
        except json.JSONDecodeError:
            return self._envelope(h, error=FossError("Invalid JSON", 9999))
        fault = self.faults.take(name)
        if fault == "500":
            return self._send(h, 500, "<html>Internal Server Error</html>", "text/html")
        if fault == "error200":
            return self._envelope(h, error=FossError("Simulated failure", 9999))
        if fault == "429":
            self._send(h, 429, json.dumps({"result": None, "error": {
                "message": "Too many requests", "code": 429}}), headers={"Retry-After": "1"})
            return None
        if fault == "nonjson":
            return self._send(h, 200, "PHP Fatal error: Allowed memory size exhausted",
                              "text/html")
        handler: Callable[[dict[str, Any]], Any] | None = getattr(
            self, f"m_{module}_{method}", None)
        if handler is None:
            return self._envelope(h, error=FossError(f"Method {method} not found", 740),
                                  status=404)
        try:
            with self.lock:
                self._partial = fault == "partial"
                result = handler(data)
        except FossError as err:
            return self._envelope(h, error=err)
        if fault == "lost":
            return self._send(h, 502, "<html>Bad Gateway</html>", "text/html")
        return self._envelope(h, result)

    def _authorized(self, h: BaseHTTPRequestHandler) -> bool:
        header = h.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == "admin" and password == self.token

    # ---- clients -----------------------------------------------------
    def _client(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("id") not in (None, ""):
            client = self.clients.get(int(data["id"]))
        elif data.get("email"):
            client = next((c for c in self.clients.values() if c["email"] == data["email"]),
                          None)
        else:
            raise FossError("Client ID or email is required")
        if client is None:
            raise FossError("Client not found")
        return client

    def m_client_get(self, data: dict[str, Any]) -> dict[str, Any]:
        return dict(self._client(data))

    def m_client_get_list(self, data: dict[str, Any]) -> dict[str, Any]:
        items = sorted(self.clients.values(), key=lambda c: -c["id"])
        if data.get("id"):
            items = [c for c in items if str(c["id"]) == str(data["id"])
                     or (c["aid"] or "") == str(data["id"])]
        if data.get("email"):
            items = [c for c in items if str(data["email"]).lower() in c["email"].lower()]
        return _page([dict(c) for c in items], data)

    def m_client_create(self, data: dict[str, Any]) -> str:
        email, first = data.get("email"), data.get("first_name")
        if not email or "@" not in str(email):
            raise FossError("Email is invalid" if email else "Email is required")
        if not first:
            raise FossError("First name is required")
        if any(c["email"] == email for c in self.clients.values()):
            raise FossError("Email is already registered.")
        cid = self.next_id["client"]
        self.next_id["client"] += 1
        self.clients[cid] = {
            "id": cid, "aid": data.get("aid"), "email": email, "first_name": first,
            "last_name": data.get("last_name"), "company": data.get("company"),
            "currency": data.get("currency"), "status": data.get("status"),
        }
        return str(cid)

    def m_client_update(self, data: dict[str, Any]) -> bool:
        client = self._client({"id": data.get("id")})
        cur = data.get("currency")
        if cur and cur != client["currency"]:
            if any(i["client_id"] == client["id"] for i in self.invoices.values()):
                raise FossError("Currency can not be changed. Client already have invoices "
                                "issued.")
            client["currency"] = cur
        return True

    # ---- currencies --------------------------------------------------
    def m_currency_get(self, data: dict[str, Any]) -> dict[str, Any]:
        cur = self.currencies.get(str(data.get("code")))
        if cur is None:
            raise FossError("Currency not found")
        return dict(cur)

    def m_currency_create(self, data: dict[str, Any]) -> str:
        code = str(data.get("code") or "")
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise FossError("Currency code is invalid")
        if not data.get("format"):
            raise FossError("Currency format is required")
        if code in self.currencies:
            raise FossError("Currency already registered")
        self.currencies[code] = {"code": code, "conversion_rate": data.get("conversion_rate"),
                                 "format": data["format"], "is_default": 0}
        return code

    # ---- invoices ----------------------------------------------------
    def _invoice(self, data: dict[str, Any]) -> dict[str, Any]:
        inv = self.invoices.get(int(data.get("id") or 0))
        if inv is None:
            raise FossError("Invoice not found")
        return inv

    def _add_item(self, inv: dict[str, Any], item: dict[str, Any]) -> None:
        title = str(item.get("title") or "")
        if not title:
            raise FossError("Invoice item title is required")
        if len(title) > 255:
            raise FossError("Invoice item title is too long")
        qty = max(1, int(Decimal(str(item.get("quantity") or 1))))
        line = {"id": self.next_id["line"], "title": title, "quantity": qty,
                "price": _money(item.get("price") or 0, "price"),
                "taxed": _bool(item.get("taxed")), "rel_id": item.get("rel_id"),
                "type": item.get("type") or "custom", "unit": item.get("unit")}
        self.next_id["line"] += 1
        inv["lines"].append(line)

    def m_invoice_prepare(self, data: dict[str, Any]) -> str:
        client = self._client({"id": data.get("client_id")})
        iid = self.next_id["invoice"]
        self.next_id["invoice"] += 1
        inv = {"id": iid, "serie": "FOSS", "nr": str(iid), "serie_nr": f"FOSS{iid:05d}",
               "client_id": client["id"],
               "currency": client["currency"] or self.default_currency, "status": "unpaid",
               "approved": 1 if _bool(data.get("approve")) else 0, "notes": None,
               "due_at": None, "paid_at": None, "gateway_id": data.get("gateway_id"),
               "text_1": data.get("text_1"), "lines": []}
        self.invoices[iid] = inv  # stored before the items: not atomic (seen)
        items = data.get("items") or []
        if isinstance(items, dict):
            items = [items[k] for k in sorted(items, key=int)]
        for n, item in enumerate(items):
            if self._partial and n == 1:
                raise FossError("Invoice item price is invalid")
            self._add_item(inv, item)
        return str(iid)

    def m_invoice_update(self, data: dict[str, Any]) -> bool:
        inv = self._invoice(data)
        for key in ("due_at", "notes", "text_1", "text_2"):
            if key in data:
                inv[key] = data[key]
        if data.get("gateway_id"):
            inv["gateway_id"] = data["gateway_id"]
        if data.get("new_item"):
            self._add_item(inv, data["new_item"])
        for item_id, change in (data.get("items") or {}).items():
            line = next((ln for ln in inv["lines"] if str(ln["id"]) == str(item_id)), None)
            if line is None:
                raise FossError("Invoice item not found")
            if "title" in change:
                line["title"] = str(change["title"])
            if "price" in change:
                line["price"] = _money(change["price"], "price")
        return True  # 'approve' here is ignored, as on 0.6 (seen)

    def m_invoice_mark_as_paid(self, data: dict[str, Any]) -> bool:
        inv = self._invoice(data)
        if inv["status"] == "paid":
            raise FossError("Invoice is already paid")
        gateway = data.get("gateway_id") or inv.get("gateway_id")
        if not gateway:
            raise FossError("Payment gateway is required to mark the invoice as paid")
        if int(gateway) not in self.gateways:
            raise FossError("Payment gateway not found")
        if int(gateway) == 1 and not data.get("transactionId"):
            raise FossError("Transaction ID is required for the Custom payment gateway")
        paid_nr = self.next_id["paid_nr"]
        self.next_id["paid_nr"] += 1
        inv.update(status="paid", paid_at=self.now,
                   gateway_id=int(gateway), serie="PAID", nr=str(paid_nr),
                   serie_nr=f"PAID{paid_nr:05d}")
        return True

    def m_invoice_refund(self, data: dict[str, Any]) -> bool:
        inv = self._invoice(data)
        if inv["status"] != "paid":
            raise FossError("Only paid invoices can be refunded")
        inv["status"] = "refunded"
        return True

    def m_invoice_approve(self, data: dict[str, Any]) -> bool:
        self._invoice(data)["approved"] = 1
        return True

    def m_invoice_delete(self, data: dict[str, Any]) -> bool:
        self.invoices.pop(self._invoice(data)["id"])
        return True

    def m_invoice_item_delete(self, data: dict[str, Any]) -> bool:
        for inv in self.invoices.values():
            for line in inv["lines"]:
                if str(line["id"]) == str(data.get("id")):
                    inv["lines"].remove(line)
                    return True
        raise FossError("Invoice item not found")

    def _view(self, inv: dict[str, Any]) -> dict[str, Any]:
        lines = [{**ln, "price": float(ln["price"]),
                  "total": float(ln["price"] * ln["quantity"])} for ln in inv["lines"]]
        subtotal = sum((ln["price"] * ln["quantity"] for ln in inv["lines"]), Decimal(0))
        return {**inv, "lines": lines, "subtotal": float(subtotal), "tax": 0.0,
                "total": float(subtotal)}

    def m_invoice_get(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._view(self._invoice(data))

    def m_invoice_get_list(self, data: dict[str, Any]) -> dict[str, Any]:
        items = sorted(self.invoices.values(), key=lambda i: -i["id"])
        for key in ("client_id", "status", "approved", "currency"):
            if data.get(key) not in (None, ""):
                items = [i for i in items if str(i[key]) == str(data[key])]
        if data.get("search"):
            # As FOSSBilling: id = the search's digits, nr LIKE, id LIKE, any item title LIKE.
            s = str(data["search"]).lower()
            digits = int(re.sub(r"\D", "", s) or 0)
            items = [i for i in items if i["id"] == digits or s in i["nr"].lower()
                     or s == str(i["id"]) or any(s in ln["title"].lower() for ln in i["lines"])]
        return _page([{k: v for k, v in self._view(i).items() if k != "lines"} for i in items],
                     data)

    # ---- test helpers ------------------------------------------------
    def invoices_of(self, client_id: int) -> list[dict[str, Any]]:
        return [self._view(i) for i in self.invoices.values() if i["client_id"] == client_id]

    def client_by_aid(self, aid: str) -> dict[str, Any] | None:
        return next((c for c in self.clients.values() if c["aid"] == aid), None)
