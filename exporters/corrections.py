"""Corrections: an exported period that is re-rated is never changed silently.

For tenant T and an open (not yet exported) period P, every earlier period Q
that was exported is compared line by line (grouped by description) with its
current ``invoice_lines``; what differs, less what earlier exported invoices
already corrected, becomes a ``correction`` line on P, described
``"Correction <Q>: <description>"``. Corrections for Q go to the first open
period after Q that has lines (all periods between Q and P are exported or
empty). When P itself was already exported, the correction lines it was
exported with are returned unchanged, so re-rating P keeps its invoice stable.

Wire it into rating with ``rate_period(cfg, period, extra_lines=rating_hook(cfg))``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from rebill.config import Config
from rebill.errors import ExportError
from rebill.exporters import ledger
from rebill.exporters.model import check_period, line_from_row
from rebill.layout import rated_dir
from rebill.lines import CORRECTION_PREFIX, Line
from rebill.normalize.catalog import connect
from rebill.sql import literal


def _next_month(label: str) -> str:
    year, month = int(label[:4]), int(label[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def _current_lines(home: Path, tenant_id: str,
                   con: duckdb.DuckDBPyConnection | None = None) -> dict[str, list[Line]]:
    db = connect(home) if con is None else con
    try:
        rows = db.sql(f"SELECT * FROM invoice_lines WHERE tenant_id = {literal(tenant_id)} "
                      "ORDER BY period, line_no").to_arrow_table().to_pylist()
    finally:
        if con is None:
            db.close()
    out: dict[str, list[Line]] = {}
    for row in rows:
        out.setdefault(str(row["period"]), []).append(line_from_row(row))
    return out


def _latest_exports(home: Path, tenant_id: str) -> dict[str, list[Line]]:
    latest: dict[str, ledger.Entry] = {}
    for e in sorted(ledger.read_ledger(home), key=lambda e: (e.exported_at, e.target)):
        if e.tenant_id == tenant_id:
            latest[e.period] = e
    return {p: ledger.exported_lines(home, e) for p, e in sorted(latest.items())}


def _goes_to(q: str, period: str, exported: set[str], current: dict[str, list[Line]]) -> bool:
    """Whether ``period`` is the first open period after ``q`` with lines."""
    month = _next_month(q)
    while month < period:
        if month not in exported and current.get(month):
            return False
        month = _next_month(month)
    return month == period


def corrections_for(home: Path, cfg: Config, tenant_id: str, period: str,
                    con: duckdb.DuckDBPyConnection | None = None) -> list[Line]:
    """Correction lines for ``tenant_id``'s invoice of ``period`` (see module doc).

    ``con``: a catalog connection to reuse (one is opened otherwise).
    """
    check_period(period)
    exports = _latest_exports(home, tenant_id)
    if period in exports:
        return [Line(tenant_id, "correction", ln.description, ln.amount, ln.currency,
                     ln.provider, ln.service, taxed=ln.taxed)
                for ln in exports[period] if ln.kind == "correction"]
    if not exports:
        return []  # never exported: nothing to correct
    current = _current_lines(home, tenant_id, con)
    out: list[Line] = []
    for q, sent in exports.items():
        if q >= period or not _goes_to(q, period, set(exports), current):
            continue
        if not (rated_dir(home, q) / "invoice_lines.parquet").exists():
            continue  # not rated any more: nothing to compare with
        out += _diff(tenant_id, q, sent, current.get(q, []), exports)
    return out




def _diff(tenant_id: str, q: str, sent: list[Line], now: list[Line],
          exports: dict[str, list[Line]]) -> list[Line]:
    currencies = {ln.currency for ln in sent + now}
    if len(currencies) > 1:
        raise ExportError(f"tenant {tenant_id}: period {q} was exported in "
                          f"{sent[0].currency if sent else '?'} and is now rated in another "
                          "currency; corrections cannot be computed")
    delta: dict[str, Decimal] = {}
    info: dict[str, Line] = {}
    for ln in now:
        delta[ln.description] = delta.get(ln.description, Decimal(0)) + ln.amount
        info.setdefault(ln.description, ln)
    for ln in sent:
        delta[ln.description] = delta.get(ln.description, Decimal(0)) - ln.amount
        info.setdefault(ln.description, ln)
    prefix = f"{CORRECTION_PREFIX}{q}: "
    for r, lines in exports.items():
        if r <= q:
            continue
        for ln in lines:
            if ln.kind == "correction" and ln.description.startswith(prefix):
                desc = ln.description[len(prefix):]
                delta[desc] = delta.get(desc, Decimal(0)) - ln.amount
    order = [ln.description for ln in sent] + [ln.description for ln in now]
    seen: list[str] = []
    for desc in order + sorted(delta):
        if desc not in seen:
            seen.append(desc)
    out = []
    for desc in seen:
        amount = delta.get(desc, Decimal(0))
        if amount == 0:
            continue
        ref = info.get(desc)
        currency = ref.currency if ref else next(iter(currencies))
        out.append(Line(tenant_id, "correction", prefix + desc, amount, currency,
                        ref.provider if ref else None, ref.service if ref else None,
                        taxed=ref.taxed if ref else True))
    return out


def rating_hook(cfg: Config) -> Callable[[Any, Sequence[Any]], Iterable[Any]]:
    """The ``extra_lines`` callable for ``rating.rate_period``: corrections per tenant."""

    def hook(period: Any, drafts: Sequence[Any]) -> list[Any]:
        exported = {e.tenant_id for e in ledger.read_ledger(cfg.home)}
        if not any(t.id in exported for t in cfg.tenants):
            return []  # a tenant never exported has no corrections
        con = connect(cfg.home)
        try:
            return [line for tenant in cfg.tenants if tenant.id in exported
                    for line in corrections_for(cfg.home, cfg, tenant.id, period.label, con)]
        finally:
            con.close()

    return hook
