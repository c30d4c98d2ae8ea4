"""Staff actions in the billing systems, through their HTTP APIs (for the tests)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fakes.blesta import FakeBlesta
from tests.fakes.fossbilling import FakeFossBilling


def fb(fake: FakeFossBilling, path: str, body: dict[str, Any]) -> Any:
    answer = httpx.post(f"{fake.url}/api/admin/{path}", json=body,
                        auth=("admin", fake.token)).json()
    return answer


def bl(fake: FakeBlesta, verb: str, path: str, data: dict[str, str]) -> httpx.Response:
    url = f"{fake.url}/api/{path}.json"
    auth = (fake.user, fake.key)
    if verb in ("GET", "DELETE"):
        return httpx.request(verb, url, params=data, auth=auth)
    return httpx.request(verb, url, data=data, auth=auth)


def blesta_payment(fake: FakeBlesta, client_id: str, invoice_id: str, amount: str,
                   currency: str) -> str:
    """Record a payment and apply it, as staff do in Blesta (two calls)."""
    txn = bl(fake, "POST", "transactions/add", {
        "vars[client_id]": client_id, "vars[amount]": amount, "vars[currency]": currency,
        "vars[type]": "other", "vars[transaction_id]": "bank-77"}).json()["response"]
    applied = bl(fake, "POST", "transactions/apply", {
        "transaction_id": txn, "vars[amounts][0][invoice_id]": invoice_id,
        "vars[amounts][0][amount]": amount})
    assert applied.status_code == 200, applied.text
    return str(txn)
