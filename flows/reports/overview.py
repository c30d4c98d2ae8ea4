"""The finance overview of one period: spend, unallocated, margin, invoices.

Every figure is grouped by currency and no figure ever adds two currencies.
Costs are in the providers' billing currency, under the configured
``cost_basis``; margin is ``rated - cost`` of the rated rows (the per-day sums
of ``rated_daily``, both in the
billing currency, so fees and minimum top-ups, which have no cost, are shown
with the invoices instead). ``excluded`` is the part of the lake's total that
is neither attributed nor unallocated: provider tax left out by
``provider_tax = "exclude"``.

Margin % is margin / rated (the share of what tenants pay that is markup);
the unallocated share is unallocated / lake total; month-over-month changes
compare with the previous period's lake total and invoice subtotals.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

import duckdb

from rebill.config import Config
from rebill.flows.reports.charts import Bar, bar_chart
from rebill.flows.reports.commitments import commitment_summary
from rebill.flows.reports.page import Col, money, render
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
        att AS (SELECT currency, provider, sum(cost) AS attributed FROM rated_daily
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
        FROM rated_daily WHERE period = $1 GROUP BY ALL
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


def _money(currency: str, amount: Decimal) -> str:
    return money(amount, currency)


def _money_or_blank(amount: Decimal | None, currency: str) -> str:
    return "" if amount is None else money(amount, currency)


def previous_period(period: Period) -> Period:
    return Period.of(period.start - timedelta(days=1))


def percent(part: Decimal | None, whole: Decimal | None) -> str:
    """``12.3%`` (one decimal, half away from zero); empty when ``whole`` is zero."""
    if part is None or not whole:
        return ""
    return f"{(part * 100 / whole).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):f}%"


def change(now: Decimal | None, before: Decimal | None) -> str:
    """Month-over-month change: ``+4.5%``, ``-10.0%``; ``new`` when there was nothing before."""
    if now is None:
        return ""
    if not before:
        return "new" if now else ""
    text = percent(now - before, abs(before))
    return text if text.startswith("-") else "+" + text


def _spend_totals(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    return {cur: sum((r["total"] for r in rs), Decimal(0))
            for cur, rs in _by_currency(rows).items()}


def _with_tenant_names(rows: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Commitment rows naming the tenants that benefited by name, as the rest of the page does."""
    for r in rows:
        if r.get("tenants"):
            r["tenants"] = ", ".join(names.get(t, t) for t in str(r["tenants"]).split(", "))
    return rows


def render_overview(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period) -> str:
    """The finance overview page (self-contained HTML)."""
    before = previous_period(period)
    names = {t.id: t.name or t.id for t in cfg.tenants}
    spend_rows = provider_spend(con, cfg, period)
    previous_spend = _spend_totals(provider_spend(con, cfg, before))
    spend = []
    for cur, rows in _by_currency(spend_rows).items():
        for r in rows:
            r["unallocated_share"] = percent(r["unallocated"], r["total"])
        total = {"provider": "Total", "currency": cur,
                 **_sum(rows, "total", "attributed", "unallocated", "excluded")}
        total["unallocated_share"] = percent(total["unallocated"], total["total"])
        spend.append({
            "currency": cur, "rows": rows, "total": total,
            "previous": previous_spend.get(cur),
            "change": change(total["total"], previous_spend.get(cur)),
            "chart": bar_chart([Bar(r["provider"] or "(none)", r["total"]) for r in rows], cur,
                               f"Spend by provider ({cur})", partial(_money, cur))})
    margin = []
    for cur, rows in _by_currency(tenant_margin(con, period)).items():
        per_tenant: dict[str, Decimal] = {}
        for r in rows:
            r["tenant"] = names.get(r["tenant_id"], r["tenant_id"])
            r["margin_pct"] = percent(r["margin"], r["rated"])
            per_tenant[r["tenant"]] = per_tenant.get(r["tenant"], Decimal(0)) + r["rated"]
        total = {"tenant": "Total", "currency": cur, **_sum(rows, "cost", "rated", "margin")}
        total["margin_pct"] = percent(total["margin"], total["rated"])
        margin.append({"currency": cur, "rows": rows, "total": total,
                       "chart": bar_chart([Bar(t, v) for t, v in per_tenant.items()], cur,
                                          f"Rated spend by tenant ({cur})",
                                          partial(_money, cur))})
    budgets = {t.id: t.budget for t in cfg.tenants}
    prior = {(r["tenant_id"], r["currency"]): r["subtotal"] for r in invoices(con, before)}
    inv = []
    for r in invoices(con, period):
        budget = budgets.get(r["tenant_id"])
        last = prior.get((r["tenant_id"], r["currency"]))
        inv.append({**r, "tenant": names.get(r["tenant_id"], r["tenant_id"]),
                    "previous": last, "change": change(r["subtotal"], last),
                    "budget": budget, "budget_used": percent(r["subtotal"], budget)
                    if budget is not None else "no budget"})
    una = unallocated(con, period)
    return render("overview.html", title=f"Finance overview {period.label}", period=period,
                  previous=before, cost_basis=cfg.rebill.cost_basis, spend=spend,
                  margin=margin, invoices=inv, unallocated=una[:UNALLOCATED_SHOWN],
                  more=max(0, len(una) - UNALLOCATED_SHOWN), anomalies=anomalies(con, period),
                  commitments=_with_tenant_names(commitment_summary(con, period), names),
                  Col=Col, money_fmt=_money_or_blank)
