"""``rebill reconcile``: read every exported invoice back and compare it with the ledger.

For each ledger entry (target, tenant, period) the invoice is fetched from its
target (:mod:`readback`), one ``receivables`` row is appended (status, paid,
remote totals) and every difference with the exported lines becomes a
``reconciliation`` row: the invoice is gone (``missing``), its currency
changed (``currency``), a line's amount differs to the cent (``line_amount``),
a line is gone or was added (``line_missing``/``line_added``), its subtotal
differs while its lines agree (``subtotal``), or its number changed other than
by FOSSBilling's renumbering on payment (``renumbered``). Each run appends one
Parquet file to ``<home>/state/receivables/`` and one to
``<home>/state/reconciliation/``; nothing is rewritten and nothing is changed
remotely. One invoice that cannot be read never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from rebill.atomic import atomic_write
from rebill.config import Config
from rebill.datasets import RECEIVABLES, RECONCILIATION
from rebill.errors import RebillError
from rebill.exporters import ledger
from rebill.exporters.model import check_period
from rebill.exporters.readback import RemoteInvoice, read_back
from rebill.exporters.run import make_target
from rebill.layout import receivables_dir, reconciliation_dir
from rebill.lines import Line
from rebill.retry import Retry


@dataclass(frozen=True)
class Drift:
    entry: ledger.Entry
    kind: str
    detail: str
    line_no: int | None = None
    expected: str | None = None
    remote: str | None = None
    difference: Decimal | None = None

    def line(self) -> str:
        e = self.entry
        return f"{e.tenant_id} {e.period} {e.target} {e.external_id}: {self.kind}: {self.detail}"


@dataclass
class ReconcileReport:
    receivables: list[dict[str, object]] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _previous(home: Path) -> dict[tuple[str, str, str], dict[str, object]]:
    """The last read-back of each invoice (for renumbering and status changes)."""
    folder = receivables_dir(home)
    files = sorted(folder.glob("*.parquet")) if folder.exists() else []
    out: dict[tuple[str, str, str], dict[str, object]] = {}
    for path in files:
        for row in pq.read_table(path, schema=RECEIVABLES).to_pylist():
            out[(str(row["target"]), str(row["tenant_id"]), str(row["period"]))] = row
    return out


def compare(entry: ledger.Entry, lines: list[Line], remote: RemoteInvoice,
            previous: dict[str, object] | None) -> list[Drift]:
    """Every difference between what was exported and what the target holds now."""
    if remote.status == "missing":
        return [Drift(entry, "missing", f"invoice {entry.external_id} is gone from "
                      f"{entry.target} (deleted?)")]
    out: list[Drift] = []
    if remote.currency and remote.currency != entry.currency:
        out.append(Drift(entry, "currency", f"exported in {entry.currency}, now in "
                         f"{remote.currency}", expected=entry.currency, remote=remote.currency))
    for i in range(max(len(lines), len(remote.lines))):
        ours = lines[i] if i < len(lines) else None
        theirs = remote.lines[i] if i < len(remote.lines) else None
        if ours is not None and theirs is None:
            out.append(Drift(entry, "line_missing", f"line {ours.line_no} "
                             f"({ours.description}, {ours.amount}) is gone", ours.line_no,
                             str(ours.amount), None, -ours.amount))
        elif ours is None and theirs is not None:
            out.append(Drift(entry, "line_added", f"remote line {i + 1} ({theirs[0]}, "
                             f"{theirs[1]}) was not exported", None, None, str(theirs[1]),
                             theirs[1]))
        elif ours is not None and theirs is not None and ours.amount != theirs[1]:
            diff = theirs[1] - ours.amount
            out.append(Drift(entry, "line_amount", f"line {ours.line_no} ({ours.description}) "
                             f"exported {ours.amount}, remote {theirs[1]} (difference {diff})",
                             ours.line_no, str(ours.amount), str(theirs[1]), diff))
    if not out and remote.subtotal is not None and remote.subtotal != entry.subtotal:
        diff = remote.subtotal - entry.subtotal
        out.append(Drift(entry, "subtotal", f"exported subtotal {entry.subtotal}, remote "
                         f"{remote.subtotal} (difference {diff})", None, str(entry.subtotal),
                         str(remote.subtotal), diff))
    before = previous.get("number") if previous else None
    paid_now = previous is not None and previous.get("status") != "paid" \
        and remote.status == "paid"
    if before and remote.number and before != remote.number \
            and not (entry.target == "fossbilling" and paid_now):
        out.append(Drift(entry, "renumbered", f"number {before} became {remote.number}",
                         expected=str(before), remote=remote.number))
    return out


def receivable_row(entry: ledger.Entry, remote: RemoteInvoice,
                   checked_at: datetime) -> dict[str, object]:
    due = None
    if remote.total is not None and remote.amount_paid is not None:
        due = remote.total - remote.amount_paid
    return {"target": entry.target, "tenant_id": entry.tenant_id, "period": entry.period,
            "external_id": entry.external_id, "number": remote.number, "status": remote.status,
            "currency": remote.currency, "exported_subtotal": entry.subtotal,
            "remote_subtotal": remote.subtotal, "remote_total": remote.total,
            "amount_paid": remote.amount_paid, "amount_due": due, "paid_at": remote.paid_at,
            "due_at": remote.due_at, "checked_at": checked_at}


def _append(folder: Path, stamp: datetime, rows: list[dict[str, object]],
            schema: pa.Schema) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run-{stamp.strftime('%Y%m%dT%H%M%S%fZ')}.parquet"
    with atomic_write(path) as tmp:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)


def reconcile(cfg: Config, period: str | None = None, *,
              echo: Callable[[str], None] = print, now: datetime | None = None,
              transport: httpx.BaseTransport | None = None,
              retry: Retry | None = None) -> ReconcileReport:
    """Read back every exported invoice (of ``period``) and record status and drift."""
    if period is not None:
        check_period(period)
    checked_at = now or datetime.now(UTC)
    home = cfg.home
    entries = [e for e in ledger.read_ledger(home) if period is None or e.period == period]
    report = ReconcileReport()
    previous = _previous(home)
    by_target: dict[str, list[ledger.Entry]] = {}
    for e in sorted(entries, key=lambda e: (e.target, e.tenant_id, e.period)):
        by_target.setdefault(e.target, []).append(e)
    for name, group in by_target.items():
        try:
            target = make_target(cfg, name, transport=transport, retry=retry)
        except RebillError as err:
            report.failed += [f"{e.tenant_id} {e.period} {name}: {err}" for e in group]
            continue
        try:
            for e in group:
                try:
                    remote = read_back(target, e.external_id, checked_at.date())
                except RebillError as err:
                    first = str(err).splitlines()[0] if str(err) else type(err).__name__
                    report.failed.append(f"{e.tenant_id} {e.period} {name}: {first}")
                    continue
                row = receivable_row(e, remote, checked_at)
                report.receivables.append(row)
                report.drift += compare(e, ledger.exported_lines(home, e), remote,
                                        previous.get((e.target, e.tenant_id, e.period)))
        finally:
            target.close()
    if report.receivables:
        drift_rows: list[dict[str, object]] = [{"target": d.entry.target, "tenant_id": d.entry.tenant_id,
                       "period": d.entry.period, "external_id": d.entry.external_id,
                       "kind": d.kind, "line_no": d.line_no, "expected": d.expected,
                       "remote": d.remote, "difference": d.difference, "detail": d.detail,
                       "checked_at": checked_at} for d in report.drift]
        _append(reconciliation_dir(home), checked_at, drift_rows, RECONCILIATION)
        _append(receivables_dir(home), checked_at, report.receivables, RECEIVABLES)
    for row in report.receivables:
        echo(describe(row))
    for d in report.drift:
        echo(f"drift: {d.line()}")
    for f in report.failed:
        echo(f"failed: {f}")
    return report


def describe(row: dict[str, object]) -> str:
    """One line per receivable: who, where, status and money."""
    head = (f"{row['tenant_id']} {row['period']} {row['target']} {row['external_id']}"
            + (f" ({row['number']})" if row.get("number") not in (None, row["external_id"])
               else "") + f": {row['status']}")
    if row["status"] in ("missing", "not_tracked"):
        return head
    tail = f", paid {row['amount_paid']} of {row['remote_total']} {row['currency']}"
    if row.get("paid_at"):
        tail += f" on {row['paid_at']:%Y-%m-%d}"  # type: ignore[str-format]
    if row.get("due_at"):
        tail += f", due {row['due_at']}"
    return head + tail
