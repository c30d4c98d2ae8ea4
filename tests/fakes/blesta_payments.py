"""Blesta payments for the fake: transactions recorded, then applied in full or in part.

``transactions/add`` records a payment without applying it;
``transactions/apply`` applies (part of) it to invoices, never more than the
transaction has left or the invoice has due, and closes an invoice once
nothing is due (``date_closed``); ``transactions/edit`` to a refunded, void or
returned status unapplies it (the invoice reopens); ``transactions/getApplied``
lists what was applied. Also the validation helpers the fake shares.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


class InvalidError(Exception):
    def __init__(self, errors: dict[str, dict[str, str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def _dec(value: Any, places: int) -> Decimal | None:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite():
        return None
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=int)]
    return list(value or [])


class BlestaPayments:
    """Mixed into FakeBlesta, whose state it reads and changes."""

    clients: dict[int, dict[str, Any]]
    invoices: dict[int, dict[str, Any]]
    transactions: dict[int, dict[str, Any]]
    applied: list[dict[str, Any]]
    now: str

    def _total(self, inv: dict[str, Any]) -> Decimal:
        total = sum((ln["qty"] * ln["amount"] for ln in inv["line_items"]), Decimal(0))
        return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def _paid(self, iid: int) -> Decimal:
        return sum((a["amount"] for a in self.applied if a["invoice_id"] == iid), Decimal(0))

    def transactions_add(self, vars: dict[str, Any]) -> str:
        errors: dict[str, dict[str, str]] = {}
        if not vars.get("client_id") or int(vars["client_id"]) not in self.clients:
            errors["client_id"] = {"exists": "Invalid client ID."}
        amount = _dec(vars.get("amount"), 4)
        if amount is None or amount <= 0:
            errors["amount"] = {"format": "Amount must be a number."}
        if not re.fullmatch(r"[A-Z]{3}", str(vars.get("currency") or "")):
            errors["currency"] = {"length": "Currency must be 3 characters."}
        if errors:
            raise InvalidError(errors)
        tid = len(self.transactions) + 1
        self.transactions[tid] = {
            "id": str(tid), "client_id": str(vars["client_id"]), "amount": amount,
            "currency": vars["currency"], "type": vars.get("type", "other"),
            "status": vars.get("status", "approved"),
            "transaction_id": vars.get("transaction_id"),
            "date_added": vars.get("date_added") or self.now}
        return str(tid)

    def transactions_apply(self, transaction_id: str, vars: dict[str, Any]) -> Any:
        txn = self.transactions.get(int(transaction_id))
        if txn is None or txn["status"] != "approved":
            raise InvalidError({"transaction_id": {"exists": "Invalid transaction."}})
        left = txn["amount"] - sum((a["amount"] for a in self.applied
                                    if a["transaction_id"] == int(transaction_id)), Decimal(0))
        for item in _list(vars.get("amounts")):
            inv = self.invoices.get(int(item.get("invoice_id") or 0))
            amount = _dec(item.get("amount"), 4)
            if inv is None or amount is None or amount <= 0:
                raise InvalidError({"amounts": {"invoice_id": "Invalid invoice or amount."}})
            if inv["currency"] != txn["currency"]:
                raise InvalidError({"amounts": {"currency": "Currencies do not match."}})
            due = self._total(inv) - self._paid(int(inv["id"]))
            if amount > due or amount > left:
                raise InvalidError({"amounts": {"overage": "The amount exceeds what is due "
                                                "or what the transaction has left."}})
            self.applied.append({"transaction_id": int(transaction_id),
                                 "invoice_id": int(inv["id"]), "amount": amount,
                                 "date": self.now})
            left -= amount
            if amount == due:
                inv["date_closed"] = self.now
        return None

    def transactions_edit(self, transaction_id: str, vars: dict[str, Any]) -> Any:
        txn = self.transactions.get(int(transaction_id))
        if txn is None:
            return False
        txn["status"] = vars.get("status", txn["status"])
        if txn["status"] in ("void", "refunded", "returned", "declined", "error"):
            for a in [a for a in self.applied if a["transaction_id"] == int(transaction_id)]:
                self.applied.remove(a)
                self.invoices[a["invoice_id"]]["date_closed"] = None
        return str(transaction_id)

    def transactions_get_applied(self, transaction_id: str | None = None,
                                 invoice_id: str | None = None) -> list[dict[str, Any]]:
        out = []
        for a in self.applied:
            if (transaction_id and a["transaction_id"] != int(transaction_id)) or \
                    (invoice_id and a["invoice_id"] != int(invoice_id)):
                continue
            txn = self.transactions[a["transaction_id"]]
            out.append({**{k: v for k, v in txn.items() if k != "amount"},
                        "amount": f"{txn['amount']:.4f}", "invoice_id": str(a["invoice_id"]),
                        "applied_amount": f"{a['amount']:.4f}", "applied_date": a["date"]})
        return out
