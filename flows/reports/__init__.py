"""Reports for tenants and finance, budgets, stale sources and cost anomalies.

``write_reports`` renders per-tenant statements (HTML + usage CSV) and the
finance overview from the catalog; ``budget_warnings``, ``stale_sources`` and
``anomaly_warnings`` give one-line warnings for ``rebill status`` and nightly.
Nothing here imports Prefect.
"""

from rebill.flows.reports.anomalies import Anomaly, anomaly_warnings, find_anomalies
from rebill.flows.reports.budgets import budget_warnings, stale_sources
from rebill.flows.reports.write import reports_dir, write_reports

__all__ = [
    "Anomaly",
    "anomaly_warnings",
    "budget_warnings",
    "find_anomalies",
    "reports_dir",
    "stale_sources",
    "write_reports",
]
