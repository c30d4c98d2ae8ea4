"""The finance overview's commitments section (from the ``commitments`` views).

Per commitment over the period: used and unused cost, utilization, the saving
against list and contracted prices net of the unused part, the purchase fee,
and the tenants whose usage it covered. Billing currency, never mixed.
"""

from __future__ import annotations

from typing import Any

import duckdb

from rebill.flows.reports.query import fetch_dicts
from rebill.periods import Period


def commitment_summary(con: duckdb.DuckDBPyConnection, period: Period) -> list[dict[str, Any]]:
    """One row per commitment and currency of ``period``; utilization over the period."""
    return fetch_dicts(con, """
        WITH c AS (
          SELECT provider, commitment_id, any_value(commitment_type) AS commitment_type,
                 currency, sum(used_cost) AS used_cost, sum(unused_cost) AS unused_cost,
                 sum(savings_vs_list) AS savings_vs_list,
                 sum(savings_vs_contracted) AS savings_vs_contracted,
                 sum(purchase_cost) AS purchase_cost
          FROM commitments WHERE period = $1 GROUP BY provider, commitment_id, currency),
        t AS (SELECT commitment_id, currency, string_agg(DISTINCT tenant_id, ', '
                                                         ORDER BY tenant_id) AS tenants
              FROM commitment_tenants WHERE period = $1 GROUP BY ALL)
        SELECT c.*, CASE WHEN used_cost + unused_cost <> 0
                         THEN round(100 * used_cost / (used_cost + unused_cost), 1) END
                      AS utilization_pct, t.tenants
        FROM c LEFT JOIN t USING (commitment_id, currency)
        ORDER BY currency, provider NULLS LAST, commitment_id""", [period.label])
