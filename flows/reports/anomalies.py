"""Cost anomalies: days far above their trailing median (the ``anomalies`` view).

The view lives in :mod:`normalize.catalog` so analysts see it in
``rebill.duckdb``; its thresholds are the ``ANOMALY_*`` constants there:
a (tenant, provider, service) day is flagged when its amount exceeds
``ANOMALY_FACTOR`` x the median of the previous ``ANOMALY_WINDOW`` days (days
without cost count as zero) and the median by more than ``ANOMALY_FLOOR``
units of the tenant's currency, once ``ANOMALY_MIN_HISTORY`` days precede it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import duckdb

from rebill.flows.reports.page import money
from rebill.flows.reports.query import fetch_dicts


@dataclass(frozen=True)
class Anomaly:
    day: date
    tenant_id: str
    provider: str | None
    service: str | None
    currency: str
    amount: Decimal
    trailing_median: Decimal

    def describe(self) -> str:
        what = " ".join(p for p in (self.provider, self.service) if p) or "(no service)"
        return (f"anomaly: {self.tenant_id} {what} on {self.day.isoformat()}: "
                f"{money(self.amount, self.currency)} {self.currency} against a 14-day median "
                f"of {money(self.trailing_median, self.currency)} {self.currency}")


def find_anomalies(con: duckdb.DuckDBPyConnection, since: date | None = None,
                   until: date | None = None, tenant: str | None = None) -> list[Anomaly]:
    """Flagged days in ``[since, until]`` (inclusive, both optional), in a stable order."""
    where: list[str] = ["TRUE"]
    params: list[object] = []
    if since is not None:
        where.append(f"day >= ${len(params) + 1}")
        params.append(since)
    if until is not None:
        where.append(f"day <= ${len(params) + 1}")
        params.append(until)
    if tenant is not None:
        where.append(f"tenant_id = ${len(params) + 1}")
        params.append(tenant)
    rows = fetch_dicts(con, f"""
        SELECT day, tenant_id, provider, service, currency, amount, trailing_median
        FROM anomalies WHERE {' AND '.join(where)}
        ORDER BY day, tenant_id, provider NULLS LAST, service NULLS LAST, currency""", params)
    return [Anomaly(**r) for r in rows]


def anomaly_warnings(con: duckdb.DuckDBPyConnection, today: date, days: int = 7) -> list[str]:
    """One line per anomaly of the last ``days`` days before ``today``."""
    found = find_anomalies(con, since=today - timedelta(days=days), until=today)
    return [a.describe() for a in found]
