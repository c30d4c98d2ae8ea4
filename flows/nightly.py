"""The nightly run: ingest open periods, re-rate, export the closed period once.

Plain steps here; :mod:`flows.schedule` wraps them in Prefect flows. The
month before the current one stays open (ingested and re-rated, since
providers restate it) through ``close_day``; from ``close_day`` on it is
exported to ``export_to`` once: the export ledger makes later nights a
no-op. A failing source fails only its own partitions: the other sources
finish, the closed period is not exported while its data is incomplete, and
the run reports the failure (non-zero exit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from rebill.config import Config
from rebill.errors import RebillError
from rebill.flows.pipeline import LoadOutcome, open_periods, plan, rate
from rebill.layout import rated_dir
from rebill.normalize.catalog import connect
from rebill.periods import Period

log = logging.getLogger("rebill.nightly")

Loader = Callable[[list[tuple[str, Period]]], list[LoadOutcome]]


@dataclass
class NightlyReport:
    today: date
    loads: list[LoadOutcome] = field(default_factory=list)
    rated: list[str] = field(default_factory=list)
    exported: str | None = None
    export_note: str = ""
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not any(o.status == "failed" for o in self.loads)


def closed_period(cfg: Config, today: date) -> Period | None:
    """The period to export today: the previous month from its close day on."""
    if today.day >= cfg.rebill.close_day:
        return Period.of(today).previous()
    return None


def export_state(cfg: Config, period: Period, target: str) -> tuple[int, int]:
    """(invoices of ``period``, how many of them the ledger has for ``target``)."""
    con = connect(cfg.home, cfg.rebill.memory_limit)
    rows = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'exported' AND target = ?) "
        "FROM invoices WHERE period = ?", [target, period.label]).fetchall()
    return int(rows[0][0]), int(rows[0][1])


def run_nightly(cfg: Config, today: date, loader: Loader,
                echo: Callable[[str], None] = print) -> NightlyReport:
    report = NightlyReport(today)
    pairs, unplanned = plan(cfg, today)
    report.loads = unplanned + loader(pairs)
    for o in report.loads:
        if o.status == "failed":
            report.errors.append(f"ingest {o.source} {o.period}: {o.error}")

    for period in open_periods(cfg, today):
        try:
            rate(cfg, period)
            report.rated.append(period.label)
        except RebillError as err:
            report.errors.append(f"rate {period}: {err}")

    closed = closed_period(cfg, today)
    target = cfg.rebill.export_to
    if closed is not None:
        # a source that failed to list its periods ("-") may hold the closed one too
        incomplete = sorted({o.source for o in report.loads if o.status == "failed"
                             and o.period in (closed.label, "-")})
        if incomplete:
            report.export_note = (f"{closed} not exported: sources {', '.join(incomplete)} "
                                  "failed; it is exported on the next good night")
            report.errors.append(report.export_note)
        else:
            _export_closed(cfg, closed, target, report, echo)

    report.warnings += _budget_warnings(cfg, today)
    return report


def _export_closed(cfg: Config, closed: Period, target: str, report: NightlyReport,
                   echo: Callable[[str], None]) -> None:
    """Export the closed period unless the ledger already has all of it."""
    from rebill.exporters.run import export_period

    try:
        if closed.label not in report.rated and not rated_dir(cfg.home, closed.label).exists():
            rate(cfg, closed)  # never rated while open (installed mid-month)
        total, done = export_state(cfg, closed, target)
        if total == 0:
            report.export_note = f"{closed}: no invoices to export"
        elif done == total:
            report.export_note = f"{closed} already exported to {target}"
        else:
            export_period(cfg, closed.label, target, echo=echo)
            report.exported = closed.label
            report.export_note = f"{closed} exported to {target} ({total - done} invoices)"
    except RebillError as err:
        report.errors.append(f"export {closed} to {target}: {err}")


def _budget_warnings(cfg: Config, today: date) -> list[str]:
    """Budgets projected over, anomalies of the last week, stale sources."""
    from rebill.flows.reports import anomaly_warnings, budget_warnings, stale_sources

    con = connect(cfg.home, cfg.rebill.memory_limit)
    try:
        return (budget_warnings(con, cfg, Period.of(today), today)
                + anomaly_warnings(con, today) + stale_sources(con, cfg, today))
    finally:
        con.close()
