"""The finance overview's commitments section (from the ``commitments`` views).

Per commitment over the period: used and unused cost, utilization, the saving
against list and contracted prices net of the unused part, the purchase fee,
and the tenants whose usage it covered. Billing currency, never mixed.
"""

from __future__ import annotations

from typing import Any

import duckdb

from rebill.flows.reports.page import Col, esc, table
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


def commitments_section(con: duckdb.DuckDBPyConnection, period: Period) -> str:
    """HTML for the overview: a note and one table (or "Nothing to show.")."""
    rows = commitment_summary(con, period)
    cols = [Col("Provider", "provider"), Col("Commitment", "commitment_id"),
            Col("Type", "commitment_type"), Col("Utilization %", "utilization_pct", "num"),
            Col("Used", "used_cost", "money"), Col("Unused", "unused_cost", "money"),
            Col("Saving vs list", "savings_vs_list", "money"),
            Col("Saving vs contracted", "savings_vs_contracted", "money"),
            Col("Purchase", "purchase_cost", "money"), Col("Tenants", "tenants"),
            Col("Currency", "currency")]
    return ("<h2>Commitments</h2>\n"
            f'<p class="note">{esc("Reserved instances, savings plans and committed use: ")}'
            "utilization = used / (used + unused) amortized cost; savings are net of the "
            "unused part (see the commitments view).</p>\n"
            + table(cols, rows, css="commitments"))
