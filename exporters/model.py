"""Invoices to export, read from the ``invoice_lines`` view, and their identity.

An invoice is identified everywhere by its key ``rebill:<tenant>:<period>``.
Remote systems also get a short searchable marker derived from the key (a line
title or description is searchable but visible to the customer, so the full
key is stored privately and the marker stays short).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from rebill.errors import ExportError
from rebill.layout import rated_dir
from rebill.lines import Line, lines_hash
from rebill.money import parse_decimal
from rebill.normalize.catalog import connect
from rebill.periods import Period
from rebill.sql import literal

TITLE_MAX = 255




@dataclass(frozen=True)
class Invoice:
    tenant_id: str
    period: str
    currency: str
    lines: tuple[Line, ...]

    @property
    def key(self) -> str:
        return invoice_key(self.tenant_id, self.period)

    @property
    def marker(self) -> str:
        return marker_for(self.key)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def lines_hash(self) -> str:
        return lines_hash(self.lines)

    def titles(self) -> list[str]:
        """Remote line titles; the first one carries the searchable marker."""
        out = []
        for i, line in enumerate(self.lines):
            suffix = f" [{self.marker}]" if i == 0 else ""
            out.append(clean_title(line.title())[: TITLE_MAX - len(suffix)] + suffix)
        return out


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")


def clean_title(text: str) -> str:
    """A line title safe to send: control, bidi-override and line-separator characters
    become one space, runs of spaces one, no leading/trailing space (cut by the caller)."""
    return " ".join(_CONTROL.sub(" ", text).split())


def invoice_key(tenant_id: str, period: str) -> str:
    return f"rebill:{tenant_id}:{period}"


def marker_for(key: str) -> str:
    """Short searchable tag: ``rb-`` and 10 hex digits of the key's SHA-256."""
    return "rb-" + hashlib.sha256(key.encode()).hexdigest()[:10]




def check_period(period: str) -> str:
    """``YYYY-MM`` exactly (:meth:`rebill.periods.Period.parse`), else ConfigError."""
    return Period.parse(period).label


def line_from_row(row: dict[str, object]) -> Line:
    qty = row.get("quantity")
    return Line(
        tenant_id=str(row["tenant_id"]),
        line_no=int(row["line_no"]),  # type: ignore[call-overload]
        kind=str(row["kind"]),
        description=str(row["description"]),
        provider=None if row.get("provider") is None else str(row["provider"]),
        service=None if row.get("service") is None else str(row["service"]),
        amount=parse_decimal(row["amount"], "invoice_lines: amount", error=ExportError),
        currency=str(row["currency"]),
        taxed=bool(row["taxed"]) if row.get("taxed") is not None else True,
        quantity=qty if isinstance(qty, Decimal) else None,
        unit=None if row.get("unit") is None else str(row["unit"]),
    )



def load_invoices(home: Path, period: str, tenant_id: str | None = None) -> list[Invoice]:
    """The period's invoices from ``invoice_lines``, one per tenant, ordered by tenant."""
    check_period(period)
    if not (rated_dir(home, period) / "invoice_lines.parquet").exists():
        raise ExportError(f"period {period} has not been rated "
                          f"(no {rated_dir(home, period) / 'invoice_lines.parquet'}); "
                          f"run: rebill rate --period {period}")
    where = f"period = {literal(period)}"
    if tenant_id is not None:
        where += f" AND tenant_id = {literal(tenant_id)}"
    con = connect(home)
    try:
        rows = con.sql(
            f"SELECT * FROM invoice_lines WHERE {where} ORDER BY tenant_id, line_no"
        ).to_arrow_table().to_pylist()
    finally:
        con.close()
    by_tenant: dict[str, list[Line]] = {}
    for row in rows:
        by_tenant.setdefault(str(row["tenant_id"]), []).append(line_from_row(row))
    invoices = []
    for tid, lines in by_tenant.items():
        currencies = sorted({ln.currency for ln in lines})
        if len(currencies) != 1:
            raise ExportError(f"invoice_lines {period} tenant {tid}: lines in several "
                              f"currencies ({', '.join(currencies)})")
        invoices.append(Invoice(tid, period, currencies[0], tuple(lines)))
    return invoices
