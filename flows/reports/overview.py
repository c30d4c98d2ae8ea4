"""The finance overview of one period: spend, unallocated, margin, invoices.

Every figure is grouped by currency and no figure ever adds two currencies.
Costs are in the providers' billing currency, under the configured
``cost_basis``; margin is ``rated - cost`` of ``rated_costs`` (both in the
billing currency, so fees and minimum top-ups, which have no cost, are shown
with the invoices instead). ``excluded`` is the part of the lake's total that
is neither attributed nor unallocated: provider tax left out by
``provider_tax = "exclude"``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from rebill.config import Config
from rebill.flows.reports.charts import Bar, bar_chart
from rebill.flows.reports.commitments import commitments_section
from rebill.flows.reports.page import Col, esc, page, table
from rebill.flows.reports.query import fetch_dicts
from rebill.periods import Period

UNALLOCATED_SHOWN = 25
COST_COLUMN = {"billed": "BilledCost", "effective": "EffectiveCost", "list": "ListCost"}


def _by_currency(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["currency"], []).append(r)
    return dict(sorted(out.items()))


def _sum(rows: list[dict[str, Any]], *keys: str) -> dict[str, Any]:
    return {k: sum((r[k] or Decimal(0) for r in rows), Decimal(0)) for k in keys}


def provider_spend(con: duckdb.DuckDBPyConnection, cfg: Config,
                   period: Period) -> list[dict[str, Any]]:
    """Per currency and provider: lake total, attributed, unallocated, excluded (tax)."""
    column = COST_COLUMN[cfg.rebill.cost_basis]
    start = period.start_ts.strftime("%Y-%m-%d %H:%M:%S")
    end = period.end_ts.strftime("%Y-%m-%d %H:%M:%S")
    return fetch_dicts(con, f"""
        WITH lake AS (
          SELECT BillingCurrency AS currency, ProviderName AS provider, sum({column}) AS total
          FROM costs WHERE BillingPeriodStart >= TIMESTAMPTZ '{start}+00'
                       AND BillingPeriodStart < TIMESTAMPTZ '{end}+00' GROUP BY ALL),
        att AS (SELECT currency, provider, sum(cost) AS attributed FROM rated_costs
                WHERE period = $1 GROUP BY ALL),
        una AS (SELECT currency, provider, sum(cost) AS unallocated FROM unallocated
                WHERE period = $1 GROUP BY ALL),
        k AS (SELECT currency, provider FROM lake UNION SELECT currency, provider FROM att
              UNION SELECT currency, provider FROM una)
        SELECT k.currency, k.provider, coalesce(lake.total, 0) AS total,
               coalesce(att.attributed, 0) AS attributed,
               coalesce(una.unallocated, 0) AS unallocated,
               coalesce(lake.total, 0) - coalesce(att.attributed, 0)
                 - coalesce(una.unallocated, 0) AS excluded
        FROM k LEFT JOIN lake ON lake.currency = k.currency
               AND lake.provider IS NOT DISTINCT FROM k.provider
             LEFT JOIN att ON att.currency = k.currency
               AND att.provider IS NOT DISTINCT FROM k.provider
             LEFT JOIN una ON una.currency = k.currency
               AND una.provider IS NOT DISTINCT FROM k.provider
        ORDER BY k.currency, k.provider NULLS LAST""", [period.label])


def tenant_margin(con: duckdb.DuckDBPyConnection, period: Period) -> list[dict[str, Any]]:
    """Per billing currency, tenant and provider: cost, rated and margin = rated - cost."""
    return fetch_dicts(con, """
        SELECT currency, tenant_id, provider, sum(cost) AS cost, sum(rated) AS rated,
               sum(rated) - sum(cost) AS margin
        FROM rated_costs WHERE period = $1 GROUP BY ALL
        ORDER BY currency, tenant_id, provider NULLS LAST""", [period.label])


def invoices(con: duckdb.DuckDBPyConnection, period: Period) -> list[dict[str, Any]]:
    return fetch_dicts(con, """
        SELECT tenant_id, currency, subtotal, line_count, status, target, external_id
        FROM invoices WHERE period = $1 ORDER BY tenant_id, currency""", [period.label])


def unallocated(con: duckdb.DuckDBPyConnection, period: Period) -> list[dict[str, Any]]:
    return fetch_dicts(con, """
        SELECT currency, reason, provider, service, count(*) AS rows, sum(cost) AS cost
        FROM unallocated WHERE period = $1 GROUP BY ALL
        ORDER BY currency, cost DESC, reason, provider NULLS LAST, service NULLS LAST""",
        [period.label])


def anomalies(con: duckdb.DuckDBPyConnection, period: Period) -> list[dict[str, Any]]:
    return fetch_dicts(con, """
        SELECT day, tenant_id, provider, service, currency, amount, trailing_median, excess
        FROM anomalies WHERE period = $1
        ORDER BY day, tenant_id, provider NULLS LAST, service NULLS LAST, currency""",
        [period.label])


def render_overview(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period) -> str:
    """The finance overview page (self-contained HTML)."""
    spend = _by_currency(provider_spend(con, cfg, period))
    margin = _by_currency(tenant_margin(con, period))
    parts = [
        '<header class="doc"><div><h1>Finance overview</h1>'
        f'<div class="note">Cost basis: {esc(cfg.rebill.cost_basis)}</div></div>'
        f'<div class="meta">Billing period <strong>{esc(period.label)}</strong></div></header>',
        "<h2>Spend by provider</h2>",
        '<p class="note">Billing currency. Attributed went to tenants or shared pools; '
        "unallocated found no taker; excluded is provider tax left out of invoices.</p>",
    ]
    spend_cols = [Col("Provider", "provider"), Col("Total", "total", "money"),
                  Col("Attributed", "attributed", "money"),
                  Col("Unallocated", "unallocated", "money"),
                  Col("Excluded", "excluded", "money"), Col("Currency", "currency")]
    keys = ("total", "attributed", "unallocated", "excluded")
    for cur, rows in spend.items():
        parts.append(f"<h3>{esc(cur)}</h3>")
        parts.append(bar_chart([Bar(r["provider"] or "(none)", r["total"]) for r in rows], cur,
                               f"Spend by provider ({cur})"))
        total = {"provider": "Total", "currency": cur, **_sum(rows, *keys)}
        parts.append(table(spend_cols, rows, total=total, css="spend"))
    if not spend:
        parts.append('<p class="empty">No costs in this period.</p>')

    parts.append("<h2>Spend and margin by tenant</h2>")
    parts.append('<p class="note">Billing currency. Margin = rated - cost (markups and '
                 "discounts; fees and minimum top-ups are in the invoices below).</p>")
    margin_cols = [Col("Tenant", "tenant_id"), Col("Provider", "provider"),
                   Col("Cost", "cost", "money"), Col("Rated", "rated", "money"),
                   Col("Margin", "margin", "money"), Col("Currency", "currency")]
    for cur, rows in margin.items():
        parts.append(f"<h3>{esc(cur)}</h3>")
        per_tenant: dict[str, Decimal] = {}
        for r in rows:
            per_tenant[r["tenant_id"]] = per_tenant.get(r["tenant_id"], Decimal(0)) + r["rated"]
        parts.append(bar_chart([Bar(t, v) for t, v in per_tenant.items()], cur,
                               f"Rated spend by tenant ({cur})"))
        total = {"tenant_id": "Total", "currency": cur, **_sum(rows, "cost", "rated", "margin")}
        parts.append(table(margin_cols, rows, total=total, css="margin"))
    if not margin:
        parts.append('<p class="empty">No attributed costs in this period.</p>')

    parts.append("<h2>Invoices</h2>")
    budgets = {t.id: t.budget for t in cfg.tenants}
    inv = [{**r, "budget": budgets.get(r["tenant_id"])} for r in invoices(con, period)]
    parts.append(table([Col("Tenant", "tenant_id"), Col("Lines", "line_count", "num"),
                        Col("Subtotal", "subtotal", "money"), Col("Budget", "budget", "money"),
                        Col("Currency", "currency"), Col("Status", "status"),
                        Col("Target", "target"), Col("External id", "external_id")],
                       inv, css="invoices"))

    parts.append("<h2>Unallocated</h2>")
    una = unallocated(con, period)
    more = len(una) - UNALLOCATED_SHOWN
    una = una[:UNALLOCATED_SHOWN]
    parts.append(table([Col("Reason", "reason"), Col("Provider", "provider"),
                        Col("Service", "service"), Col("Rows", "rows", "num"),
                        Col("Cost", "cost", "money"), Col("Currency", "currency")],
                       una, css="unallocated"))
    if more > 0:
        parts.append(f'<p class="note">and {more} smaller groups: query the unallocated view '
                     "for all of them.</p>")

    parts.append("<h2>Anomalies</h2>")
    parts.append('<p class="note">Days far above the trailing 14-day median of the same '
                 "tenant, provider and service (tenant currency; see the anomalies view).</p>")
    parts.append(table([Col("Day", "day"), Col("Tenant", "tenant_id"),
                        Col("Provider", "provider"), Col("Service", "service"),
                        Col("Amount", "amount", "money"),
                        Col("Median", "trailing_median", "money"), Col("Currency", "currency")],
                       anomalies(con, period), css="anomalies"))
    parts.append(commitments_section(con, period))
    return page(f"Finance overview {period.label}", "\n".join(parts))
