"""A fake DigitalOcean billing API over HTTPS (pydo refuses bearer tokens over HTTP).

State has the shape of ``data/samples/digitalocean/api.json``: ``account``,
``invoices`` (closed, newest first, as ``invoices.list()`` returns them),
``invoice_preview`` and ``invoice_items`` keyed by invoice uuid (``preview``
for the open month). Quirks kept: amounts are strings, ``links.pages.next``
is an absolute URL, ``invoice_preview`` is on every page, a 404 is a JSON
body, 429s carry ``ratelimit-*`` headers (and ``Retry-After`` when asked).
"""

from __future__ import annotations

import copy
import json
import time
from decimal import Decimal
from typing import Any

import trustme

from tests.fakes.httpserver import LoopbackServer

TOKEN = "dop_v1_fake_token"


class FakeDigitalOcean:
    def __init__(self, state: dict[str, Any], ca: trustme.CA, token: str = TOKEN) -> None:
        self.state = copy.deepcopy(state)
        self.token = token
        self.throttles: list[dict[str, str]] = []  # headers of the next 429s, in order
        cert = ca.issue_cert("127.0.0.1", "localhost")
        import ssl

        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self.server = LoopbackServer(self.handle, ctx)

    # -- control -------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[str]:
        return self.server.requests

    def throttle(self, times: int, retry_after: str | None = None,
                 reset_in: int | None = None) -> None:
        for _ in range(times):
            headers = {"ratelimit-limit": "5000", "ratelimit-remaining": "0",
                       "ratelimit-reset": str(int(time.time()) + (reset_in or 0))}
            if retry_after is not None:
                headers["Retry-After"] = retry_after
            self.throttles.append(headers)

    def close_month(self, uuid: str, invoice_id: str, next_period: str,
                    next_items: list[dict[str, Any]]) -> None:
        """The open month's invoice is issued; a new preview starts."""
        items = self.state["invoice_items"].pop("preview")
        preview = self.state["invoice_preview"]
        amount = sum((Decimal(i["amount"]) for i in items), Decimal(0))
        self.state["invoices"].insert(0, {
            "invoice_uuid": uuid, "invoice_id": invoice_id, "amount": f"{amount:.2f}",
            "invoice_period": preview["invoice_period"], "updated_at": "2026-12-01T08:00:00Z",
        })
        self.state["invoice_items"][uuid] = items
        self.state["invoice_items"]["preview"] = next_items
        self.state["invoice_preview"] = {
            **preview, "invoice_period": next_period,
            "amount": f"{sum((Decimal(i['amount']) for i in next_items), Decimal(0)):.2f}",
        }

    # -- HTTP ----------------------------------------------------------------
    def _page(self, path: str, query: dict[str, str], key: str,
              rows: list[Any]) -> dict[str, Any]:
        per_page = int(query.get("per_page", "20"))
        page = int(query.get("page", "1"))
        last = max(1, -(-len(rows) // per_page))
        body: dict[str, Any] = {key: rows[(page - 1) * per_page: page * per_page],
                                "links": {}, "meta": {"total": len(rows)}}
        pages: dict[str, str] = {}
        base = f"{self.url}{path}?per_page={per_page}&page="
        if page < last:
            pages["next"] = base + str(page + 1)
            pages["last"] = base + str(last)
        if page > 1:
            pages["first"] = base + "1"
            pages["prev"] = base + str(page - 1)
        if pages:
            body["links"]["pages"] = pages
        return body

    def handle(self, method: str, path: str, query: dict[str, str],
               headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"id": "Unauthorized", "message": "Unable to authenticate you"}
        if self.throttles:
            return 429, self.throttles.pop(0), {
                "id": "too_many_requests", "message": "API Rate limit exceeded."}
        ok = {"ratelimit-limit": "5000", "ratelimit-remaining": "4999",
              "ratelimit-reset": str(int(time.time()) + 60)}
        if path == "/v2/account":
            if "account" not in self.state:  # a token with billing:read only
                return 403, ok, {"id": "forbidden", "message": "You are not authorized."}
            return 200, ok, {"account": self.state["account"]}
        if path == "/v2/customers/my/invoices":
            body = self._page(path, query, "invoices", self.state["invoices"])
            if self.state.get("invoice_preview"):
                body["invoice_preview"] = self.state["invoice_preview"]
            return 200, ok, body
        prefix = "/v2/customers/my/invoices/"
        if path.startswith(prefix):
            uuid = path[len(prefix):]
            if uuid in self.state["invoice_items"]:
                return 200, ok, self._page(path, query, "invoice_items",
                                           self.state["invoice_items"][uuid])
        return 404, ok, {"id": "not_found",
                         "message": "The resource you were accessing could not be found."}


def load_state(path: str) -> dict[str, Any]:
    with open(path) as f:
        return json.load(f)  # type: ignore[no-any-return]
