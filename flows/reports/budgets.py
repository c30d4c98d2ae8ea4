"""Budget projections and stale sources, for ``rebill status`` and the nightly run.

A tenant's ``budget`` is monthly, in the tenant's currency. The projection is
``month-to-date / elapsed days * days in the month`` over the rated usage and
shared amounts (``rated_daily.amount``, the daily sums of ``rated_costs.amount``),
plus the period's fee lines as they stand (fees are monthly amounts already).
Elapsed days count the days before ``today`` in the period, or through the
latest rated day if data for later days is already there. All arithmetic is ``Decimal``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb

from rebill.config import Config
from rebill.flows.reports.page import money
from rebill.flows.reports.query import fetch_dicts
from rebill.money import round_money
from rebill.periods import Period

STALE_AFTER_DAYS = 2


def elapsed_days(period: Period, today: date, last_day: date | None) -> int:
    """Days of ``period`` with data expected by ``today`` (clamped to the month)."""
    days = (today - period.start).days
    if last_day is not None:
        days = max(days, (last_day - period.start).days + 1)
    return max(0, min(days, period.days))


def project(month_to_date: Decimal, elapsed: int, days_in_month: int) -> Decimal:
    """Linear month-end projection (exact; the caller rounds for display)."""
    return month_to_date * days_in_month / elapsed


def budget_warnings(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period,
                    today: date) -> list[str]:
    """One line per tenant whose projected month-end amount exceeds its budget."""
    label = period.label
    rows = fetch_dicts(con, "SELECT max(day) AS last_day FROM rated_daily WHERE period = $1",
                       [label])
    last_day = rows[0]["last_day"] if rows else None
    elapsed = elapsed_days(period, today, last_day)
    if elapsed == 0:
        return []
    usage = {(r["tenant_id"], r["currency"]): r["amount"] for r in fetch_dicts(con, """
        SELECT tenant_id, tenant_currency AS currency, sum(amount) AS amount
        FROM rated_daily WHERE period = $1 GROUP BY ALL""", [label])}
    fees = {(r["tenant_id"], r["currency"]): r["amount"] for r in fetch_dicts(con, """
        SELECT tenant_id, currency, CAST(sum(amount) AS DECIMAL(38,12)) AS amount
        FROM invoice_lines WHERE period = $1 AND kind = 'fee' GROUP BY ALL""", [label])}
    out: list[str] = []
    for tenant in cfg.tenants:
        if tenant.budget is None:
            continue
        cur = cfg.tenant_currency(tenant)
        mtd = usage.get((tenant.id, cur), Decimal(0))
        fee = fees.get((tenant.id, cur), Decimal(0))
        projected = round_money(project(mtd, elapsed, period.days) + fee, cur)
        if projected > tenant.budget:
            out.append(
                f"budget: {tenant.id} is projected at {money(projected, cur)} {cur} for {label}, "
                f"over its budget of {money(tenant.budget, cur)} {cur} "
                f"({money(mtd, cur)} {cur} in {elapsed} of {period.days} days"
                + (f", fees {money(fee, cur)} {cur})" if fee else ")"))
    return out


def stale_sources(con: duckdb.DuckDBPyConnection, cfg: Config, today: date) -> list[str]:
    """One line per configured source whose last successful load is over 2 days old."""
    loads = fetch_dicts(con, """
        SELECT source, max(finished_at) FILTER (WHERE status = 'ok') AS last_ok,
               arg_max(status, finished_at) AS last_status,
               arg_max(error, finished_at) AS last_error
        FROM loads GROUP BY source ORDER BY source""")
    by_source = {r["source"]: r for r in loads}
    out: list[str] = []
    for source in cfg.sources:
        rec = by_source.get(source)
        last_ok: datetime | None = rec["last_ok"] if rec else None
        failed = ""
        if rec and rec["last_status"] == "failed":
            failed = f"; the last attempt failed: {rec['last_error'] or 'no message'}"
        if last_ok is None:
            out.append(f"stale: source {source} has never loaded successfully{failed}")
            continue
        age = (today - last_ok.date()).days
        if age > STALE_AFTER_DAYS:
            out.append(f"stale: source {source} last loaded successfully on "
                       f"{last_ok.date().isoformat()} ({age} days ago){failed}")
    return out
