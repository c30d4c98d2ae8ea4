"""Invoice lines: what rating produces and exporters send, declared once.

A :class:`Line` is one row of ``invoice_lines``; rating builds them, the
corrections of already-exported periods are more of them (kind
``correction``), and every exporter reads them back. :func:`lines_hash` is
the one digest of an invoice's content: the ledger, the ``invoices`` dataset
and the exporters compare invoices with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

KINDS = ("usage", "shared", "fee", "minimum", "correction")
CORRECTION_PREFIX = "Correction "


@dataclass(frozen=True)
class Line:
    """One invoice line; ``amount`` is rounded to the currency's minor unit."""

    tenant_id: str
    kind: str  # usage | shared | fee | minimum | correction
    description: str
    amount: Decimal
    currency: str
    provider: str | None = None
    service: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    line_no: int = 0
    taxed: bool = True

    @property
    def corrects(self) -> str | None:
        """For a correction line, the period (``YYYY-MM``) whose invoice it corrects."""
        p = CORRECTION_PREFIX
        if self.kind == "correction" and self.description.startswith(p) \
                and self.description[len(p) + 7:len(p) + 9] == ": ":
            return self.description[len(p):len(p) + 7]
        return None

    def title(self) -> str:
        """Description plus usage figures (FOSSBilling/Blesta show quantity 1)."""
        text = self.description
        if self.quantity is not None and self.unit:
            text += f" ({format_decimal(self.quantity)} {self.unit})"
        return text

    def as_json(self) -> dict[str, object]:
        return {
            "line_no": self.line_no, "kind": self.kind, "description": self.description,
            "provider": self.provider, "service": self.service,
            "amount": str(self.amount), "currency": self.currency, "taxed": self.taxed,
            "quantity": None if self.quantity is None else format_decimal(self.quantity),
            "unit": self.unit,
        }


def format_decimal(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (``0`` for zero)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def lines_hash(lines: Sequence[Line]) -> str:
    """SHA-256 (64 hex) over the lines' invoiced content: stable and order-sensitive."""
    canon = [[ln.line_no, ln.kind, ln.description, str(ln.amount), ln.currency, ln.taxed]
             for ln in lines]
    return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).hexdigest()
