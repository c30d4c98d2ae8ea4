"""A tenant's monthly statement (HTML, optionally PDF) and its usage detail (CSV).

The statement's lines and its one total are the invoice's (``invoice_lines``,
each rounded once by rating; the total is their sum, which is the invoice's
subtotal). Fee, minimum and correction lines carry a short note computed by
:mod:`rebill.flows.explain` (``60.00 × 21/30 days``); usage lines note the
credits that netted into them. The charts show the rated amounts per day and
per service (pool shares under the pool's name) from ``rated_daily``, the
daily sums of ``rated_costs``, before any line is rounded; they have no total of their own. The CSV lists
the tenant's rated amounts per day, provider, service, SKU and resource at
full precision (12 decimals), so it adds up to the usage lines before their
rounding. Money is formatted in the tenant's ``locale`` (babel).
"""

from __future__ import annotations

import base64
import io
import mimetypes
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from rebill import csvsafe
from rebill.config import Config, Tenant
from rebill.errors import ConfigError
from rebill.flows.reports.charts import Bar, bar_chart, column_chart
from rebill.flows.reports.page import local_money, local_number, locale_for, render
from rebill.flows.reports.query import fetch_dicts
from rebill.flows.reports.units import display_unit
from rebill.periods import Period
from rebill.rating.lines import active_days

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
    total: Decimal = Decimal(0)  # the sum of the lines = the invoice's subtotal
    daily: dict[date, Decimal] = field(default_factory=dict)
    services: list[tuple[str, Decimal]] = field(default_factory=list)
    status: str = "draft"
    external_id: str | None = None
    target: str | None = None
    exported_at: datetime | None = None


def line_label(description: str, provider: str | None, service: str | None) -> str:
    """The description without the provider twice: ``AWS AWS Lambda`` -> ``AWS Lambda``."""
    if provider and service and service.lower().startswith(provider.lower()) \
            and description.startswith(provider + " "):
        return description[len(provider) + 1:]
    return description


def service_label(kind: str, pool: str | None, provider: str | None,
                  service: str | None) -> str:
    if kind == "shared":
        return f"Shared: {pool}"
    text = f"{provider or ''} {service or ''}".strip()
    return line_label(text, provider, service) or "(no service)"


def has_statement(cfg: Config, con: duckdb.DuckDBPyConnection, period: Period,
                  tenant_id: str) -> bool:
    """A tenant gets a statement when it has a line, or at least one active day in P."""
    [row] = fetch_dicts(con, "SELECT count(*) AS n FROM invoice_lines WHERE period = $1 "
                        "AND tenant_id = $2", [period.label, tenant_id])
    if row["n"]:
        return True
    tenant = next((t for t in cfg.tenants if t.id == tenant_id), None)
    return tenant is None or active_days(tenant, period) > 0


def load_statement(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period,
                   tenant_id: str, default_currency: str) -> Statement:
    """Everything the statement shows, read from the catalog views."""
    label = period.label
    lines = fetch_dicts(con, """
        SELECT line_no, kind, description, provider, service, quantity, unit, amount, currency
        FROM invoice_lines WHERE period = $1 AND tenant_id = $2
        ORDER BY line_no, kind, description""", [label, tenant_id])
    invoice = fetch_dicts(con, """
        SELECT currency, subtotal, status, target, external_id, exported_at FROM invoices
        WHERE period = $1 AND tenant_id = $2 ORDER BY currency""", [label, tenant_id])
    currency = (invoice[0]["currency"] if invoice else
                lines[0]["currency"] if lines else default_currency)
    daily = {r["day"]: r["amount"] for r in fetch_dicts(con, """
        SELECT day, sum(amount) AS amount FROM rated_daily
        WHERE period = $1 AND tenant_id = $2 AND tenant_currency = $3
        GROUP BY day ORDER BY day""", [label, tenant_id, currency])}
    services = [(service_label(r["kind"], r["pool"], r["provider"], r["service"]), r["amount"])
                for r in fetch_dicts(con, """
        SELECT kind, pool, provider, service, sum(amount) AS amount FROM rated_daily
        WHERE period = $1 AND tenant_id = $2 AND tenant_currency = $3
        GROUP BY ALL ORDER BY amount DESC, kind, pool, provider, service""",
        [label, tenant_id, currency])]
    st = Statement(tenant_id, period, currency, lines, daily=daily, services=services)
    st.total = sum((ln["amount"] for ln in lines), Decimal(0))
    if invoice:
        inv = invoice[0]
        if inv["subtotal"] != st.total:
            raise ConfigError(f"statement {tenant_id} {label}: the invoice subtotal "
                              f"{inv['subtotal']} is not the sum of its lines {st.total}; "
                              f"re-rate the period")
        st.status, st.target = inv["status"], inv["target"]
        st.external_id, st.exported_at = inv["external_id"], inv["exported_at"]
    _add_notes(con, cfg, st)
    return st


def _add_notes(con: duckdb.DuckDBPyConnection, cfg: Config, st: Statement) -> None:
    """A short note per line: credits netted in, pool split, proration, top-up, correction."""
    from rebill.flows.explain import explain_lines

    loc = _locale(cfg, st)

    def m(x: Decimal) -> str:
        return local_money(x, st.currency, loc)

    credits = {(r["kind"], r["line_key"]): r for r in fetch_dicts(con, """
        SELECT kind, line_key, sum(amount) FILTER (WHERE amount < 0) AS credits,
               sum(amount) FILTER (WHERE amount > 0) AS charges
        FROM rated_costs WHERE period = $1 AND tenant_id = $2 AND tenant_currency = $3
        GROUP BY ALL""", [st.period.label, st.tenant_id, st.currency])}
    pools = {f"Shared: {p.name}": p for p in cfg.shared}
    explained = {}
    if any(ln["kind"] in ("fee", "minimum", "correction") for ln in st.lines) and \
            any(t.id == st.tenant_id for t in cfg.tenants):
        explained = {ex.line_no: ex for ex in explain_lines(
            con, cfg, st.period, st.tenant_id, kinds=("fee", "minimum", "correction"))}
    for ln in st.lines:
        note = ""
        kind = ln["kind"]
        ex = explained.get(ln["line_no"])
        if kind in ("usage", "shared"):
            c = credits.get((kind, ln["description"]))
            if c and c["credits"] is not None and c["credits"] < 0:
                note = (f"Credit: {m(c['credits'])} of credits exceed {m(c['charges'] or Decimal(0))} "
                        "of charges" if ln["amount"] < 0 else
                        f"Includes credits of {m(c['credits'])}")
            if kind == "shared" and ln["description"] in pools:
                pool = pools[ln["description"]]
                share = f"Your share of shared {pool.name} costs ({pool.allocate} split)"
                note = f"{share}; {note[0].lower()}{note[1:]}" if note else share
        elif kind == "fee" and ex is not None:
            f = ex.facts
            if f.get("every") == "month" and f.get("prorate"):
                note = (f"{m(f['fee_amount'])} × {f['active_days']}/{f['days_in_period']} days "
                        "(prorated to the days of service)")
            elif f.get("every") == "once":
                note = f"One-off fee ({f['date'].isoformat()})"
        elif kind == "minimum" and ex is not None:
            f = ex.facts
            prorated = (f" × {f['active_days']}/{f['days_in_period']} days = "
                        f"{m(f['prorated_minimum'])}"
                        if f["active_days"] != f["days_in_period"] else "")
            note = (f"Monthly minimum {m(f['minimum'])}{prorated}; the lines above come to "
                    f"{m(f['lines_total'])}, so {m(ln['amount'])} tops them up")
        elif kind == "correction" and ex is not None and "exported" in ex.facts:
            f = ex.facts
            note = (f"Correction of the {f['corrects']} invoice: now {m(f['now_rated'])}, "
                    f"invoiced {m(f['exported'])}")
        ln["note"] = note


def invoice_number(st: Statement) -> str | None:
    """The billing system's invoice id once exported; the file target numbers
    ``<period>-<TENANT>``; None (a draft) before any export."""
    if st.external_id is None:
        return None
    if st.target == "file":
        return f"{st.period.label}-{st.tenant_id.upper()}"
    return st.external_id


def _locale(cfg: Config, st: Statement) -> str:
    tenant = next((t for t in cfg.tenants if t.id == st.tenant_id), None)
    return locale_for(st.currency, tenant.locale if tenant else None)


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=i) for i in range(period.days)]


def _logo(cfg: Config) -> str | None:
    if cfg.issuer is None or cfg.issuer.logo is None:
        return None
    path = cfg.resolve(cfg.issuer.logo)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"[issuer] logo: cannot read {path}: {err.strerror}") from None
    kind = mimetypes.guess_type(path.name)[0]
    if kind not in ("image/png", "image/jpeg", "image/svg+xml", "image/gif", "image/webp"):
        raise ConfigError(f"[issuer] logo: {path} is not a PNG, JPEG, GIF, WebP or SVG image")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def render_statement(st: Statement, tenant: Tenant | None, cfg: Config) -> str:
    """The statement page (self-contained HTML)."""
    loc = _locale(cfg, st)
    cur = st.currency

    def fmt(x: Decimal) -> str:
        return local_money(x, cur, loc)

    name = tenant.name if tenant and tenant.name else st.tenant_id
    billing = tenant.billing if tenant else None
    issued = (st.exported_at.date() if st.exported_at is not None else
              st.period.end + timedelta(days=cfg.rebill.close_day - 1))
    payment_days = cfg.issuer.payment_days if cfg.issuer else 30
    rows = []
    for ln in st.lines:
        qty, unit = ln["quantity"], display_unit(ln["unit"])
        price = ln["amount"] / qty if qty else None
        rows.append({
            "line_no": ln["line_no"], "note": ln.get("note", ""),
            "description": line_label(ln["description"], ln["provider"], ln["service"]),
            "quantity": f"{local_number(qty, loc)} {unit}".strip() if qty is not None else "",
            "unit_price": (f"{local_number(price, loc, 6 if abs(price) < 1 else 4)} "
                           f"{cur}/{unit or 'unit'}") if price is not None else "",
            "amount": fmt(ln["amount"]), "negative": ln["amount"] < 0,
        })
    days = _days(st.period)
    daily = column_chart([Bar(d.isoformat(), st.daily.get(d, Decimal(0))) for d in days], cur,
                         f"Daily cost {st.period.label} ({cur})", fmt, label_every=5)
    services = bar_chart([Bar(label, amount) for label, amount in st.services], cur,
                         f"Cost by service {st.period.label} ({cur})", fmt)
    return render(
        "statement.html", title=f"Statement {st.period.label}: {name}", lang=loc.split("_")[0],
        st=st, issuer=cfg.issuer, logo=_logo(cfg), customer=billing.name if billing and
        billing.name else name, billing=billing, tenant_id=st.tenant_id,
        number=invoice_number(st), issued=issued, due=issued + timedelta(days=payment_days),
        first_day=st.period.start, last_day=st.period.end - timedelta(days=1),
        rows=rows, total=fmt(st.total), daily=daily, services=services,
        exported=st.external_id is not None,
        target=st.target if st.target not in (None, "file") else None)


def usage_csv(con: duckdb.DuckDBPyConnection, period: Period, tenant_id: str) -> str:
    """The tenant's rated amounts by day, provider, service, SKU and resource (CSV text)."""
    cur = con.execute("""
        WITH src AS (
          SELECT x_source, x_row_id, SkuId, ResourceId, PricingQuantity, PricingUnit
          FROM costs WHERE period = $1)
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
