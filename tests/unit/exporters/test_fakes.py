"""The fakes keep the quirks of the real APIs (shared/reference/billing-apis.md)."""

from __future__ import annotations

import httpx

from tests.fakes.blesta import FakeBlesta
from tests.fakes.fossbilling import FakeFossBilling


def fb(fake: FakeFossBilling, path: str, body: dict | None = None, *, form: bool = False,
       token: str | None = None) -> httpx.Response:
    auth = ("admin", token or fake.token)
    url = f"{fake.url}/api/admin/{path}"
    if form:
        return httpx.post(url, data=body or {}, auth=auth)
    return httpx.post(url, json=body or {}, auth=auth)


def test_fossbilling_quirks(fossbilling: FakeFossBilling) -> None:
    bad = fb(fossbilling, "client/get", {"id": 1}, token="nope")
    assert bad.status_code == 401 and bad.json()["error"]["code"] == 205
    missing = fb(fossbilling, "client/get", {"id": 9})
    assert missing.status_code == 200
    assert missing.json() == {"result": None, "error": {"message": "Client not found",
                                                       "code": 9999}}
    cid = fb(fossbilling, "client/create", {"email": "a@b.example", "first_name": "A",
                                            "currency": "EUR", "aid": "acme"}).json()["result"]
    assert cid == "1"  # ids come back as strings
    assert fb(fossbilling, "client/get_list", {"id": "acme"}).json()["result"]["total"] == 1
    inv = fb(fossbilling, "invoice/prepare", {"client_id": cid, "items": [
        {"title": "x rb-1", "price": "12.345", "quantity": "2.7", "taxed": True}]}).json()
    got = fb(fossbilling, "invoice/get", {"id": inv["result"]}).json()["result"]
    assert got["currency"] == "EUR"  # the client's currency
    assert got["lines"][0]["price"] == 12.35 and got["lines"][0]["quantity"] == 2
    found = fb(fossbilling, "invoice/get_list", {"search": "rb-1"}).json()["result"]
    assert [i["id"] for i in found["list"]] == [1]
    # "false" as a string breaks the insert, after the invoice row exists (not atomic).
    err = fb(fossbilling, "invoice/prepare", {"client_id": cid, "items[0][title]": "t",
                                              "items[0][price]": "1",
                                              "items[0][taxed]": "false"}, form=True).json()
    assert "Incorrect integer value" in err["error"]["message"]
    assert len(fossbilling.invoices) == 2 and fossbilling.invoices[2]["lines"] == []
    changed = fb(fossbilling, "client/update", {"id": cid, "currency": "USD"}).json()
    assert "Currency can not be changed" in changed["error"]["message"]
    fossbilling.fail("invoice/get", "nonjson")
    assert not fb(fossbilling, "invoice/get", {"id": 1}).text.startswith("{")


def test_blesta_quirks(blesta: FakeBlesta) -> None:
    auth = (blesta.user, blesta.key)
    base = f"{blesta.url}/api"
    assert httpx.get(f"{base}/clients/get.json", params={"client_id": 1},
                     auth=("x", "y")).status_code == 401
    assert httpx.get(f"{base}/clients/get.json", params={"client_id": 1},
                     auth=auth).json() == {"response": False}
    assert httpx.get(f"{base}/nope/get.json", auth=auth).status_code == 404
    assert httpx.post(f"{base}/invoices/add.json", json={"vars": {}},
                      auth=auth).status_code == 415
    assert httpx.get(f"{base}/clients/get.json", params={"client_id": 1, "bogus": 1},
                     auth=auth).status_code == 500
    bad = httpx.post(f"{base}/invoices/add.json", auth=auth,
                     data={"vars[client_id]": "7", "vars[currency]": "eur"})
    assert bad.status_code == 400 and set(bad.json()["errors"]) >= {"client_id", "currency"}
    created = httpx.post(f"{base}/clients/create.json", auth=auth, data={
        "vars[username]": "u", "vars[new_password]": "p", "vars[confirm_password]": "p",
        "vars[client_group_id]": "1", "vars[first_name]": "F", "vars[last_name]": "L",
        "vars[email]": "u@x.example"}).json()["response"]
    iid = httpx.post(f"{base}/invoices/add.json", auth=auth, data={
        "vars[client_id]": created["id"], "vars[currency]": "EUR",
        "vars[date_billed]": "2026-11-01T00:00:00+00:00",
        "vars[date_due]": "2026-11-15T00:00:00+00:00",
        "vars[lines][0][description]": "EC2 rb-2", "vars[lines][0][qty]": "1",
        "vars[lines][0][amount]": "9.99"}).json()["response"]
    listed = httpx.get(f"{base}/invoices/getList.json", auth=auth, params={
        "client_id": created["id"], "status": "all", "filters[invoice_line]": "rb-2"}).json()
    assert [i["id"] for i in listed["response"]] == [iid]
    got = httpx.get(f"{base}/invoices/get.json", auth=auth,
                    params={"invoice_id": iid}).json()["response"]
    assert got["line_items"][0]["amount"] == "9.9900" and got["total"] == "9.9900"
