"""The ``receivables`` and ``reconciliation`` views over ``rebill reconcile``'s logs.

``receivables_history``: every read-back ever made (append-only, one Parquet
file per run). ``receivables``: the latest read-back of each exported invoice
(target, tenant, period), with the status it had before (``previous_status``)
so a change is visible. ``reconciliation``: the drift found by each invoice's
latest read-back (an invoice that was fixed remotely drops out on the next run).
"""

from __future__ import annotations


def receivables_sql(receivables_glob: str, reconciliation_glob: str) -> dict[str, str]:
    """View statements; the arguments are quoted SQL string literals."""
    history = f"read_parquet({receivables_glob}, hive_partitioning=false, union_by_name=true)"
    return {
        "receivables_history": f"CREATE OR REPLACE VIEW receivables_history AS "
        f"SELECT * FROM {history}",
        "receivables": """CREATE OR REPLACE VIEW receivables AS
SELECT * EXCLUDE (rn) FROM (
  SELECT *, lag(status) OVER w AS previous_status, row_number() OVER (
           PARTITION BY target, tenant_id, period ORDER BY checked_at DESC) AS rn
  FROM receivables_history
  WINDOW w AS (PARTITION BY target, tenant_id, period ORDER BY checked_at)
) WHERE rn = 1""",
        "reconciliation": f"""CREATE OR REPLACE VIEW reconciliation AS
SELECT d.* FROM read_parquet({reconciliation_glob}, hive_partitioning=false,
                             union_by_name=true) d
JOIN (SELECT target, tenant_id, period, max(checked_at) AS checked_at
      FROM receivables_history GROUP BY ALL) latest
  USING (target, tenant_id, period, checked_at)""",
    }
