"""A tenant's monthly statement (HTML) and its usage detail (CSV).

The statement's totals are the invoice lines' (``invoice_lines``, rounded
once per line by rating); the charts show the rated amounts of
``rated_costs`` per day and per provider/service in the tenant's currency, so
fees and a minimum top-up appear in the lines but not in the charts. The CSV
lists the tenant's rated amounts per day, provider, service, SKU and resource
at full precision (12 decimals), so it adds up to the usage lines before their
rounding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from rebill import csvsafe
from rebill.config import Tenant
from rebill.flows.reports.charts import Bar, bar_chart, column_chart
from rebill.flows.reports.page import Col, cards, esc, money, page, table
from rebill.flows.reports.query import fetch_dicts
from rebill.periods import Period

USAGE_COLUMNS = (
    "day", "kind", "pool", "provider", "service", "sku_id", "resource_id",
    "quantity", "unit", "amount", "currency",
)


@dataclass
class Statement:
    tenant_id: str
    period: Period
    currency: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)  # by currency, from the lines
    daily: dict[date, Decimal] = field(default_factory=dict)
    services: list[tuple[str, Decimal]] = field(default_factory=list)
    status: str = "draft"
    external_id: str | None = None
    target: str | None = None



def load_statement(con: duckdb.DuckDBPyConnection, period: Period, tenant_id: str,
                   default_currency: str) -> Statement:
    """Everything the statement shows, read from the catalog views."""
    label = period.label
    lines = fetch_dicts(con, """
        SELECT line_no, kind, description, provider, service, quantity, unit, amount, currency
        FROM invoice_lines WHERE period = $1 AND tenant_id = $2
        ORDER BY line_no, kind, description""", [label, tenant_id])
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line["currency"]] = totals.get(line["currency"], Decimal(0)) + line["amount"]
    invoice = fetch_dicts(con, """
        SELECT currency, status, target, external_id FROM invoices
        WHERE period = $1 AND tenant_id = $2 ORDER BY currency""", [label, tenant_id])
    rated_currency = fetch_dicts(con, """
        SELECT DISTINCT tenant_currency AS c FROM rated_costs
        WHERE period = $1 AND tenant_id = $2 ORDER BY c""", [label, tenant_id])
    currency = (invoice[0]["currency"] if invoice else
                rated_currency[0]["c"] if rated_currency else
                next(iter(sorted(totals)), default_currency))
    daily = {r["day"]: r["amount"] for r in fetch_dicts(con, """
        SELECT day, sum(amount) AS amount FROM rated_costs
        WHERE period = $1 AND tenant_id = $2 AND tenant_currency = $3
        GROUP BY day ORDER BY day""", [label, tenant_id, currency])}
    services = [(f"{r['provider'] or ''} {r['service'] or ''}".strip(), r["amount"])
                for r in fetch_dicts(con, """
        SELECT provider, service, sum(amount) AS amount FROM rated_costs
        WHERE period = $1 AND tenant_id = $2 AND tenant_currency = $3
        GROUP BY ALL ORDER BY amount DESC, provider, service""", [label, tenant_id, currency])]
    st = Statement(tenant_id, period, currency, lines, totals, daily, services)
    if invoice:
        st.status = invoice[0]["status"]
        st.target = invoice[0]["target"]
        st.external_id = invoice[0]["external_id"]
    return st


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=i) for i in range(period.days)]


def render_statement(st: Statement, tenant: Tenant | None) -> str:
    """The statement page (self-contained HTML)."""
    name = tenant.name if tenant and tenant.name else st.tenant_id
    title = f"Statement {st.period.label}: {name}"
    cur = st.currency
    status = st.status if not st.external_id else f"{st.status} ({st.target} {st.external_id})"
    head = (f'<header class="doc"><div><h1>{esc(name)}</h1>'
            f'<div class="note">Tenant {esc(st.tenant_id)}</div></div>'
            f'<div class="meta">Statement for <strong>{esc(st.period.label)}</strong><br>'
            f"{esc(st.period.start.isoformat())} to "
            f"{esc((st.period.end - timedelta(days=1)).isoformat())}<br>"
            f"Invoice status: {esc(status)}</div></header>")
    total_cards = [(f"Total ({c})", f"{money(v, c)} {c}") for c, v in sorted(st.totals.items())]
    if not total_cards:
        total_cards = [(f"Total ({cur})", f"{money(Decimal(0), cur)} {cur}")]
    usage = sum(st.daily.values(), Decimal(0))
    summary = cards([*total_cards, ("Invoice lines", str(len(st.lines))),
                     ("Rated usage", f"{money(usage, cur)} {cur}")])

    days = _days(st.period)
    daily = column_chart(
        [Bar(d.isoformat(), st.daily.get(d, Decimal(0))) for d in days], cur,
        f"Daily cost {st.period.label} ({cur})", label_every=5)
    services = bar_chart([Bar(label, amount) for label, amount in st.services], cur,
                         f"Cost by service {st.period.label} ({cur})")

    cols = [Col("#", "line_no", "num"), Col("Kind", "kind"), Col("Description", "description"),
            Col("Quantity", "quantity_text", "num"), Col("Amount", "amount", "money"),
            Col("Currency", "currency")]
    rows = [{**line, "quantity_text": _quantity(line["quantity"], line["unit"])}
            for line in st.lines]
    total = None
    if len(st.totals) == 1:
        (c, v), = st.totals.items()
        total = {"description": "Total", "amount": v, "currency": c}
    lines_html = table(cols, rows, total=total, css="invoice-lines")
    if len(st.totals) > 1:
        lines_html += table([Col("Currency", "currency"), Col("Total", "amount", "money")],
                            [{"currency": c, "amount": v} for c, v in sorted(st.totals.items())],
                            css="totals")
    body = "\n".join([
        head, summary,
        f"<h2>Daily cost ({esc(cur)})</h2>", daily,
        f"<h2>Cost by service ({esc(cur)})</h2>", services,
        "<h2>Invoice lines</h2>", lines_html,
        '<p class="note">Totals are the sum of the invoice lines, each rounded once to the '
        "currency's minor unit. The charts show rated usage and shared costs before fees and "
        "minimum commitments; taxes are added by the billing system. The attached CSV lists "
        "the usage detail at full precision.</p>",
    ])
    return page(title, body)


def _quantity(quantity: Decimal | None, unit: str | None) -> str:
    if quantity is None:
        return ""
    text = f"{quantity.normalize():f}" if quantity == quantity.to_integral_value() else \
        f"{quantity.quantize(Decimal('0.0001')):f}"
    return f"{text} {unit or ''}".strip()


def usage_csv(con: duckdb.DuckDBPyConnection, period: Period, tenant_id: str) -> str:
    """The tenant's rated amounts by day, provider, service, SKU and resource (CSV text)."""
    start = period.start_ts.strftime("%Y-%m-%d %H:%M:%S")
    end = period.end_ts.strftime("%Y-%m-%d %H:%M:%S")
    cur = con.execute(f"""
        WITH src AS (
          SELECT x_source, x_row_id, SkuId, ResourceId, PricingQuantity, PricingUnit
          FROM costs
          WHERE BillingPeriodStart >= TIMESTAMPTZ '{start}+00'
            AND BillingPeriodStart < TIMESTAMPTZ '{end}+00')
        SELECT r.day, r.kind, r.pool, r.provider, r.service, s.SkuId AS sku_id,
               s.ResourceId AS resource_id,
               sum(CASE WHEN r.kind = 'usage' THEN s.PricingQuantity END) AS quantity,
               CASE WHEN r.kind = 'usage' THEN s.PricingUnit END AS unit,
               sum(r.amount) AS amount, r.tenant_currency AS currency
        FROM rated_costs r LEFT JOIN src s USING (x_source, x_row_id)
        WHERE r.period = $1 AND r.tenant_id = $2
        GROUP BY ALL
        ORDER BY r.day, r.kind, r.pool NULLS FIRST, r.provider NULLS FIRST,
                 r.service NULLS FIRST, sku_id NULLS FIRST, resource_id NULLS FIRST,
                 unit NULLS FIRST, currency""", [period.label, tenant_id])
    buf = io.StringIO()
    writer = csvsafe.writer(buf)
    writer.writerow(USAGE_COLUMNS)
    for row in cur.fetchall():
        writer.writerow([_csv_text(v) for v in row])
    return buf.getvalue()


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)
