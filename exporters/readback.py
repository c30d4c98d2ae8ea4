"""Read an exported invoice back from its target: status, payments, lines. Read-only.

FOSSBilling (``invoice/get``): status ``paid|unpaid|refunded|canceled``, no
partial payments; a paid invoice is renumbered (``serie_nr`` changes) and has
``paid_at``. Blesta (``invoices/get`` + ``transactions/getApplied``): status
``active|draft|proforma|void`` with ``paid`` and ``due``; payments are
transactions applied to the invoice, possibly in parts. The file target has no
payments: its JSON is read back only to compare lines. Nothing is ever written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rebill.errors import FatalExportError
from rebill.exporters.base import Target
from rebill.exporters.blesta import BlestaTarget
from rebill.exporters.file import FileTarget
from rebill.exporters.fossbilling import FossBillingTarget

CENT = Decimal("0.01")


@dataclass(frozen=True)
class RemoteInvoice:
    status: str  # unpaid|paid|partially_paid|overdue|cancelled|void|refunded|missing|not_tracked
    number: str | None = None
    currency: str | None = None
    subtotal: Decimal | None = None
    total: Decimal | None = None
    amount_paid: Decimal | None = None
    paid_at: datetime | None = None
    due_at: date | None = None
    lines: tuple[tuple[str, Decimal], ...] = field(default_factory=tuple)  # (title, amount)


MISSING = RemoteInvoice(status="missing")


def cents(value: object, what: str) -> Decimal:
    """A remote money value at the cent (floats arrive as JSON numbers: read via str)."""
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise FatalExportError(f"{what}: {value!r} is not an amount") from None


def _when(value: object) -> datetime | None:
    """A remote ``YYYY-MM-DD[ hh:mm:ss]`` timestamp (UTC) or None."""
    if not value:
        return None
    text = str(value).replace("T", " ")[:19]
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _unpaid_or_overdue(due_at: date | None, today: date) -> str:
    return "overdue" if due_at is not None and due_at < today else "unpaid"


def fossbilling_invoice(target: FossBillingTarget, external_id: str,
                        today: date) -> RemoteInvoice:
    remote = target.api.call("invoice/get", {"id": external_id}, missing_ok=True)
    if not remote:
        return MISSING
    what = f"fossbilling invoice {external_id}"
    total = cents(remote.get("total") or 0, f"{what} total")
    due = _when(remote.get("due_at"))
    status = {"paid": "paid", "refunded": "refunded", "canceled": "cancelled",
              "cancelled": "cancelled"}.get(str(remote.get("status")))
    lines = tuple((str(ln.get("title", "")),
                   cents(Decimal(str(ln.get("price") or 0)) * Decimal(str(ln.get("quantity") or 1)),
                         f"{what} line {ln.get('id')}"))
                  for ln in remote.get("lines") or [])
    return RemoteInvoice(
        status=status or _unpaid_or_overdue(due.date() if due else None, today),
        number=str(remote.get("serie_nr") or remote.get("nr") or "") or None,
        currency=remote.get("currency"),
        subtotal=cents(remote.get("subtotal") or 0, f"{what} subtotal"),
        total=total, amount_paid=total if status == "paid" else Decimal("0.00"),
        paid_at=_when(remote.get("paid_at")) if status == "paid" else None,
        due_at=due.date() if due else None, lines=lines)


def blesta_invoice(target: BlestaTarget, external_id: str, today: date) -> RemoteInvoice:
    remote = target.api.call("GET", "invoices/get", {"invoice_id": external_id})
    if not remote:
        return MISSING
    what = f"blesta invoice {external_id}"
    total = cents(remote.get("total") or 0, f"{what} total")
    paid = cents(remote.get("paid") or 0, f"{what} paid")
    due = _when(remote.get("date_due"))
    due_day = due.date() if due else None
    applied: list[dict[str, Any]] = []
    if paid > 0:
        applied = list(target.api.call("GET", "transactions/getApplied",
                                       {"invoice_id": external_id}) or [])
    if remote.get("status") == "void":
        status = "void"
    elif paid > 0 and paid >= total:
        status = "paid"
    elif paid > 0:
        status = "partially_paid"
    else:
        status = _unpaid_or_overdue(due_day, today)
    dates = [d for d in (_when(a.get("applied_date")) for a in applied) if d is not None]
    lines = tuple((str(ln.get("description", "")),
                   cents(Decimal(str(ln.get("qty") or 0)) * Decimal(str(ln.get("amount") or 0)),
                         f"{what} line {ln.get('id')}"))
                  for ln in remote.get("line_items") or [])
    return RemoteInvoice(
        status=status, number=str(remote.get("id_code") or remote.get("id") or "") or None,
        currency=remote.get("currency"),
        subtotal=cents(remote.get("subtotal") or total, f"{what} subtotal"), total=total,
        amount_paid=paid, paid_at=max(dates) if dates and paid > 0 else None,
        due_at=due_day, lines=lines)


def file_invoice(target: FileTarget, external_id: str) -> RemoteInvoice:
    path = target.home / Path(external_id)
    if not path.exists():
        return MISSING
    try:
        doc = json.loads(path.read_text())
        lines = tuple((str(ln["description"]), cents(ln["amount"], f"{path} line"))
                      for ln in doc["lines"])
        subtotal = cents(doc["subtotal"], f"{path} subtotal")
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise FatalExportError(f"{path}: not an invoice written by rebill ({err})") from None
    return RemoteInvoice(status="not_tracked", number=external_id, currency=doc.get("currency"),
                         subtotal=subtotal, total=subtotal, lines=lines)


def read_back(target: Target, external_id: str, today: date) -> RemoteInvoice:
    """The invoice ``external_id`` as ``target`` holds it now (never changes it)."""
    if isinstance(target, FossBillingTarget):
        return fossbilling_invoice(target, external_id, today)
    if isinstance(target, BlestaTarget):
        return blesta_invoice(target, external_id, today)
    if isinstance(target, FileTarget):
        return file_invoice(target, external_id)
    raise FatalExportError(f"target {target.name}: cannot read invoices back")
