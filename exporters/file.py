"""The ``file`` target: one JSON and one CSV per invoice under ``<home>/exports/<period>/``.

Same lines give the same bytes; files are replaced atomically, so re-running is
harmless and a crash leaves the old file or the new one.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rebill import csvsafe
from rebill.atomic import atomic_write
from rebill.config import Tenant
from rebill.exporters.model import Invoice
from rebill.layout import exports_dir

CSV_COLUMNS = ("line_no", "kind", "description", "provider", "service", "quantity", "unit",
               "amount", "currency", "taxed")


def invoice_json(invoice: Invoice, tenant: Tenant | None) -> bytes:
    doc = {
        "key": invoice.key,
        "tenant_id": invoice.tenant_id,
        "tenant_name": tenant.name if tenant else None,
        "email": tenant.billing.email if tenant else None,
        "period": invoice.period,
        "currency": invoice.currency,
        "subtotal": str(invoice.subtotal),
        "lines_hash": invoice.lines_hash,
        "lines": [ln.as_json() for ln in invoice.lines],
    }
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def invoice_csv(invoice: Invoice) -> bytes:
    buf = io.StringIO()
    writer = csvsafe.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for ln in invoice.lines:
        row = ln.as_json()
        writer.writerow(["" if row[c] is None else str(row[c]).lower() if c == "taxed"
                         else row[c] for c in CSV_COLUMNS])
    return buf.getvalue().encode()


def _write(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


class FileTarget:
    name = "file"

    def __init__(self, home: Path) -> None:
        self.home = home

    def paths(self, invoice: Invoice) -> tuple[Path, Path]:
        folder = exports_dir(self.home, invoice.period)
        return folder / f"{invoice.tenant_id}.json", folder / f"{invoice.tenant_id}.csv"

    def plan(self, invoice: Invoice, tenant: Tenant | None) -> list[str]:
        return [f"write {p}" for p in self.paths(invoice)]

    def push(self, invoice: Invoice, tenant: Tenant | None) -> str:
        json_path, csv_path = self.paths(invoice)
        _write(csv_path, invoice_csv(invoice))
        _write(json_path, invoice_json(invoice, tenant))
        return str(json_path.relative_to(self.home))

    def close(self) -> None:
        """Nothing to release."""
