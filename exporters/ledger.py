"""The export ledger: what was pushed where, and the exact lines that were pushed.

``<home>/state/exports.parquet`` (schema ``EXPORTS``) has one row per
(target, tenant, period); the ``invoices`` view joins it.
``<home>/state/exported_lines.parquet`` keeps the lines of each export so a
re-rated period can be compared line by line (corrections). Both files are
rewritten whole and atomically, the lines first and the ledger last: the
ledger row is the commit point, lines without a ledger row are ignored.
Callers hold ``home_lock(home, "exports")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rebill.atomic import atomic_write
from rebill.datasets import EXPORTS, INVOICE_LINES
from rebill.exporters.model import Invoice
from rebill.layout import exports_file, state_dir
from rebill.lines import Line

# The exported copy of invoice_lines: which target, then the line as it went out.
EXPORTED_LINES = pa.schema([
    pa.field("target", pa.string()),
    *(f for f in INVOICE_LINES if f.name not in ("quantity", "unit")),
])


@dataclass(frozen=True)
class Entry:
    target: str
    tenant_id: str
    period: str
    key: str
    external_id: str
    lines_hash: str
    subtotal: Decimal
    currency: str
    exported_at: datetime


def exported_lines_file(home: Path) -> Path:
    return state_dir(home) / "exported_lines.parquet"


def _read(path: Path, schema: pa.Schema) -> list[dict[str, object]]:
    if not path.exists():
        return []
    rows: list[dict[str, object]] = pq.read_table(path, schema=schema).to_pylist()
    return rows


def read_ledger(home: Path) -> list[Entry]:
    return [Entry(**row) for row in _read(exports_file(home), EXPORTS)]  # type: ignore[arg-type]


def find(home: Path, tenant_id: str, period: str, target: str | None = None) -> list[Entry]:
    """Ledger entries of one invoice (all targets unless ``target``), oldest first."""
    rows = [e for e in read_ledger(home)
            if e.tenant_id == tenant_id and e.period == period
            and (target is None or e.target == target)]
    return sorted(rows, key=lambda e: (e.exported_at, e.target))


def exported_lines(home: Path, entry: Entry) -> list[Line]:
    """The lines recorded for a ledger entry, in line order."""
    rows = [r for r in _read(exported_lines_file(home), EXPORTED_LINES)
            if (r["target"], r["tenant_id"], r["period"])
            == (entry.target, entry.tenant_id, entry.period)]
    rows.sort(key=lambda r: int(r["line_no"]))  # type: ignore[call-overload]
    return [Line(tenant_id=str(r["tenant_id"]),
                 line_no=int(r["line_no"]), kind=str(r["kind"]),  # type: ignore[call-overload]
                 description=str(r["description"]),
                 provider=r["provider"], service=r["service"],  # type: ignore[arg-type]
                 amount=r["amount"], currency=str(r["currency"]),  # type: ignore[arg-type]
                 taxed=bool(r["taxed"]), quantity=None, unit=None) for r in rows]


def _sort_key(row: dict[str, object]) -> tuple[str, str, str, int]:
    return (str(row["target"]), str(row["tenant_id"]), str(row["period"]),
            int(row.get("line_no", 0)))  # type: ignore[call-overload]


def record(home: Path, target: str, invoice: Invoice, external_id: str,
           now: datetime | None = None) -> Entry:
    """Write the exported lines, then the ledger row (the commit point)."""
    ident = (target, invoice.tenant_id, invoice.period)
    lines = [r for r in _read(exported_lines_file(home), EXPORTED_LINES)
             if (r["target"], r["tenant_id"], r["period"]) != ident]
    lines += [{"target": target, "tenant_id": invoice.tenant_id, "period": invoice.period,
               "line_no": ln.line_no, "kind": ln.kind, "description": ln.description,
               "provider": ln.provider, "service": ln.service, "amount": ln.amount,
               "currency": ln.currency, "taxed": ln.taxed} for ln in invoice.lines]
    lines.sort(key=_sort_key)
    with atomic_write(exported_lines_file(home)) as tmp:
        pq.write_table(pa.Table.from_pylist(lines, schema=EXPORTED_LINES), tmp)
    entry = Entry(target=target, tenant_id=invoice.tenant_id, period=invoice.period,
                  key=invoice.key, external_id=external_id, lines_hash=invoice.lines_hash,
                  subtotal=invoice.subtotal, currency=invoice.currency,
                  exported_at=now or datetime.now(UTC))
    rows = [r for r in _read(exports_file(home), EXPORTS)
            if (r["target"], r["tenant_id"], r["period"]) != ident]
    rows.append(entry.__dict__.copy())
    rows.sort(key=_sort_key)
    with atomic_write(exports_file(home)) as tmp:
        pq.write_table(pa.Table.from_pylist(rows, schema=EXPORTS), tmp)
    return entry
