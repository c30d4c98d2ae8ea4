"""The nightly run: ingest open periods, re-rate, export the closed period once.

Plain steps here; :mod:`flows.schedule` wraps them in Prefect flows. The
month before the current one stays open (ingested and re-rated, since
providers restate it) through ``close_day``; from ``close_day`` on it is
exported once, each tenant to its target (``export_to`` by default): the export ledger makes later nights a
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
from rebill.flows.pipeline import LoadOutcome, open_periods, plan, rate, rate_if_changed
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
    unchanged: list[str] = field(default_factory=list)  # open periods not re-rated
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


def export_state(cfg: Config, period: Period) -> tuple[int, int]:
    """(invoices of ``period``, how many the ledger has for their tenant's target)."""
    con = connect(cfg.home, cfg.rebill.memory_limit)
    try:
        rows = con.execute(
            "SELECT tenant_id, status, target FROM invoices WHERE period = ?",
            [period.label]).fetchall()
    finally:
        con.close()
    done = sum(1 for tenant_id, status, target in rows
               if status == "exported" and target == cfg.tenant_target(tenant_id))
    return len(rows), done


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
            if rate_if_changed(cfg, period) is None:
                report.unchanged.append(period.label)
            else:
                report.rated.append(period.label)
        except RebillError as err:
            report.errors.append(f"rate {period}: {err}")
            log.error("rate %s failed: %s", period, err, extra={"reported": True})

    closed = closed_period(cfg, today)
    if closed is not None:
        # a source that failed to list its periods ("-") may hold the closed one too
        incomplete = sorted({o.source for o in report.loads if o.status == "failed"
                             and o.period in (closed.label, "-")})
        if incomplete:
            report.export_note = (f"{closed} not exported: sources {', '.join(incomplete)} "
                                  "failed; it is exported on the next good night")
            report.errors.append(report.export_note)
            log.error("%s", report.export_note, extra={"reported": True})
        else:
            _export_closed(cfg, closed, report, echo)

    drift = _reconcile(cfg, echo)
    report.warnings += drift
    budgets, anomalies, stale = _warnings(cfg, today)
    report.warnings += budgets + anomalies + stale
    _alert(cfg, report, budgets, anomalies, drift)
    return report


def _reconcile(cfg: Config, echo: Callable[[str], None]) -> list[str]:
    """Read exported invoices back (payment status, drift): warnings, never a failed night."""
    from rebill.exporters.ledger import read_ledger
    from rebill.exporters.reconcile import reconcile

    if not any(e.target != "file" for e in read_ledger(cfg.home)):
        return []
    try:
        result = reconcile(cfg, echo=echo)
    except RebillError as err:
        return [f"reconcile: {err}"]
    return ([f"reconciliation: {d.line()}" for d in result.drift]
            + [f"reconcile failed: {f}" for f in result.failed])


def _alert(cfg: Config, report: NightlyReport, budgets: list[str], anomalies: list[str],
           drift: list[str]) -> None:
    """One alert for a failed night (every failure named), one per new breach, anomaly
    or reconciliation drift."""
    if cfg.alerts is None:
        return
    from rebill.flows.alerts import send_alert, send_alert_once

    if not report.ok:
        send_alert(cfg, f"nightly {report.today} failed: " + "; ".join(report.errors), "failure")
    for text in budgets:
        send_alert_once(cfg, text, "budget")
    for text in anomalies:
        send_alert_once(cfg, text, "anomaly")
    for text in drift:
        send_alert_once(cfg, text, "reconciliation")


def _export_closed(cfg: Config, closed: Period, report: NightlyReport,
                   echo: Callable[[str], None]) -> None:
    """Export the closed period (each tenant to its target) unless the ledger has all of it."""
    from rebill.exporters.run import export_period

    try:
        if closed.label not in report.rated and not rated_dir(cfg.home, closed.label).exists():
            rate(cfg, closed)  # never rated while open (installed mid-month)
        total, done = export_state(cfg, closed)
        if total == 0:
            report.export_note = f"{closed}: no invoices to export"
        elif done == total:
            report.export_note = f"{closed} already exported"
        else:
            export_period(cfg, closed.label, echo=echo, today=report.today)
            report.exported = closed.label
            report.export_note = f"{closed} exported ({total - done} invoices)"
    except RebillError as err:
        report.errors.append(f"export {closed}: {err}")
        log.error("export %s failed: %s", closed, err, extra={"reported": True})


def _warnings(cfg: Config, today: date) -> tuple[list[str], list[str], list[str]]:
    """(budgets projected over, anomalies of the last week, stale sources)."""
    from rebill.flows.reports import anomaly_warnings, budget_warnings, stale_sources

    con = connect(cfg.home, cfg.rebill.memory_limit)
    try:
        return (budget_warnings(con, cfg, Period.of(today), today),
                anomaly_warnings(con, today), stale_sources(con, cfg, today))
    finally:
        con.close()
