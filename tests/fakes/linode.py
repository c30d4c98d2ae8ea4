"""A fake Linode API v4 (account, invoices, invoice items) on loopback HTTP.

State has the shape of ``data/samples/linode/api.json``: ``account``
(with ``balance_uninvoiced``), ``invoices`` (newest first) and
``invoice_items`` keyed by invoice id. Quirks kept: amounts are JSON numbers,
item ``to`` is inclusive (``...23:59:59``), list pages are
``{data, page, pages, results}`` sized by ``page_size``, errors are
``{"errors": [{"reason": ...}]}``, 429s carry ``Retry-After`` and
``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.fakes.httpserver import LoopbackServer

TOKEN = "linode-fake-token-0123456789abcdef"


class FakeLinode:
    def __init__(self, state: dict[str, Any], token: str = TOKEN) -> None:
        self.state = copy.deepcopy(state)
        self.token = token
        self.throttles: list[dict[str, str]] = []
        self.server = LoopbackServer(self.handle)

    @property
    def url(self) -> str:
        return self.server.url + "/v4"

    @property
    def requests(self) -> list[str]:
        return self.server.requests

    def throttle(self, times: int, retry_after: str | None = "1") -> None:
        for _ in range(times):
            headers = {"X-RateLimit-Limit": "800", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": str(int(time.time()) + 1)}
            if retry_after is not None:
                headers["Retry-After"] = retry_after
            self.throttles.append(headers)

    def issue_invoice(self, invoice: dict[str, Any], items: list[dict[str, Any]],
                      balance_uninvoiced: float) -> None:
        self.state["invoices"].insert(0, invoice)
        self.state["invoice_items"][str(invoice["id"])] = items
        self.state["account"]["balance_uninvoiced"] = balance_uninvoiced

    def _page(self, query: dict[str, str], rows: list[Any]) -> dict[str, Any]:
        size = max(25, min(500, int(query.get("page_size", "100"))))
        if "page_size" in query and int(query["page_size"]) < 25:
            size = int(query["page_size"])  # tests use tiny pages to exercise paging
        page = int(query.get("page", "1"))
        pages = max(1, -(-len(rows) // size))
        return {"data": rows[(page - 1) * size: page * size], "page": page,
                "pages": pages, "results": len(rows)}

    def handle(self, method: str, path: str, query: dict[str, str],
               headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"errors": [{"reason": "Invalid Token"}]}
        if self.throttles:
            return 429, self.throttles.pop(0), {"errors": [{"reason": "Too many requests"}]}
        if path == "/v4/account":
            return 200, {}, self.state["account"]
        if path == "/v4/account/invoices":
            return 200, {}, self._page(query, self.state["invoices"])
        parts = path.split("/")
        if len(parts) == 6 and parts[:4] == ["", "v4", "account", "invoices"]:
            items = self.state["invoice_items"].get(parts[4])
            if parts[5] == "items" and items is not None:
                return 200, {}, self._page(query, items)
        return 404, {}, {"errors": [{"reason": "Not found"}]}
