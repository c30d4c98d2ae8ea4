"""``rebill explain``: an invoice line back to its rows, rules, FX and rounding.

Built on the catalog's documented views only (``invoice_lines``,
``rated_costs``, ``costs``), so it works whether ``rated_costs`` is stored or
computed on demand. A usage or shared line is the rows of ``rated_costs``
with the line's tenant, period, kind and ``line_key`` (= the description) in
its currency; their exact sum, rounded once half away from zero to the
currency's minor unit, *is* the line (DESIGN rule 7). Fee and minimum lines
are recomputed from the config (rules 8 and 9), correction lines from the
exported invoices they correct. Each explanation carries the amount it
computes and whether it equals the line: the CLI fails when one does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from rebill.config import Config, Tenant
from rebill.errors import ConfigError
from rebill.flows.reports.overview import COST_COLUMN
from rebill.flows.reports.query import fetch_dicts
from rebill.money import round_money
from rebill.periods import Period
from rebill.rating.fx import FX_TABLE, LOOKBACK_DAYS, load_rates
from rebill.rating.lines import MINIMUM_DESCRIPTION, active_days, prorate

ROWS_SHOWN = 10_000  # --rows lists at most this many rows per line (the counts are exact)


@dataclass
class Explanation:
    """One invoice line and how it came to be; ``computed`` must equal ``amount``."""

    line_no: int
    kind: str
    description: str
    amount: Decimal
    currency: str
    computed: Decimal | None = None
    steps: list[str] = field(default_factory=list)  # human-readable chain, in order
    facts: dict[str, Any] = field(default_factory=dict)  # the same, machine-readable

    @property
    def matches(self) -> bool:
        return self.computed is not None and self.computed == self.amount

    def as_dict(self) -> dict[str, Any]:
        return {"line_no": self.line_no, "kind": self.kind, "description": self.description,
                "amount": self.amount, "currency": self.currency, "computed": self.computed,
                "matches": self.matches, **self.facts, "explanation": self.steps}


def explain_lines(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period, tenant_id: str,
                  line_no: int | None = None, rows: bool = False,
                  kinds: tuple[str, ...] | None = None) -> list[Explanation]:
    """Explanations for the tenant's lines of ``period`` (or only line ``line_no``, or
    only lines of ``kinds``)."""
    tenant = cfg.tenant(tenant_id)
    lines = fetch_dicts(con, """
        SELECT line_no, kind, description, amount, currency FROM invoice_lines
        WHERE period = $1 AND tenant_id = $2 ORDER BY line_no""", [period.label, tenant_id])
    if not lines:
        raise ConfigError(f"tenant {tenant_id} has no invoice lines for {period.label} "
                          f"(run `rebill rate --period {period.label}` first?)")
    if line_no is not None:
        lines = [ln for ln in lines if ln["line_no"] == line_no]
        if not lines:
            raise ConfigError(f"--line {line_no}: tenant {tenant_id} has no such line in "
                              f"{period.label}")
    fees = _fee_inputs(cfg, tenant, period)
    if kinds is not None:
        lines = [ln for ln in lines if ln["kind"] in kinds or ln["kind"] == "fee"]
    load_rates(con, cfg)  # the fx.csv rows, to date the rates used
    out: list[Explanation] = []
    for ln in lines:
        ex = Explanation(ln["line_no"], ln["kind"], ln["description"], ln["amount"],
                         ln["currency"])
        if ex.kind in ("usage", "shared"):
            _rated(con, cfg, period, tenant, ex, rows)
        elif ex.kind == "fee":
            _fee(ex, fees)
        elif ex.kind == "minimum":
            _minimum(con, cfg, period, tenant, ex)
        elif ex.kind == "correction":
            from rebill.flows.explain_corrections import explain_correction

            explain_correction(con, cfg, period, tenant, ex)
        if kinds is None or ex.kind in kinds:
            out.append(ex)
    return out


def _rated(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period, tenant: Tenant,
           ex: Explanation, rows: bool) -> None:
    where = ("FROM rated_costs WHERE period = $1 AND tenant_id = $2 AND kind = $3 "
             "AND line_key = $4 AND tenant_currency = $5")
    params: list[Any] = [period.label, tenant.id, ex.kind, ex.description, ex.currency]
    [total] = fetch_dicts(con, f"""SELECT count(*) AS rows, sum(cost) AS cost,
        sum(rated) AS rated, sum(amount) AS amount {where}""", params)
    exact: Decimal = total["amount"] if total["amount"] is not None else Decimal(0)
    ex.computed = round_money(exact, ex.currency)
    # the costs rows of the period, for accounts (pruned by period and the line's sources)
    src = ("(SELECT x_source, x_row_id, SubAccountId, BillingPeriodStart, SkuId, ResourceId, "
           "ChargeDescription FROM costs WHERE period = $1)")
    by: dict[str, Any] = {
        "by_source": fetch_dicts(con, f"""SELECT x_source AS source, count(*) AS rows,
            sum(cost) AS cost, sum(amount) AS amount {where}
            GROUP BY ALL ORDER BY source""", params),
        "by_account": fetch_dicts(con, f"""SELECT c.SubAccountId AS account, r.currency,
            count(*) AS rows, sum(r.cost) AS cost, sum(r.amount) AS amount
            FROM (SELECT * {where}) r LEFT JOIN {src} c USING (x_source, x_row_id)
            GROUP BY ALL ORDER BY account NULLS LAST, r.currency""", params),
        "by_service": fetch_dicts(con, f"""SELECT provider, service, count(*) AS rows,
            sum(cost) AS cost, sum(amount) AS amount {where}
            GROUP BY ALL ORDER BY provider NULLS LAST, service NULLS LAST""", params),
        "by_day": fetch_dicts(con, f"""SELECT day, count(*) AS rows, sum(cost) AS cost,
            sum(amount) AS amount {where} GROUP BY ALL ORDER BY day""", params),
        "pricing": fetch_dicts(con, f"""SELECT pricing_rule, markup, currency, count(*) AS rows,
            sum(cost) AS cost, sum(rated) AS rated {where}
            GROUP BY ALL ORDER BY pricing_rule, markup, currency""", params),
        "fx": _fx(con, cfg, where, params),
    }
    if ex.kind == "shared":
        column = COST_COLUMN[cfg.rebill.cost_basis]
        [pool] = fetch_dicts(con, f"""SELECT sum(c.{column}) AS pool_cost FROM
            (SELECT DISTINCT x_source, x_row_id {where}) r JOIN {src} c USING (x_source, x_row_id)
            """.replace("SubAccountId,", f"SubAccountId, {column},"), params)
        by["pool_rows_cost"] = pool["pool_cost"]
    ex.facts.update({"rows": total["rows"], "cost": total["cost"], "rated": total["rated"],
                     "exact_sum": exact, "rounding": ex.computed - exact, **by})
    s = ex.steps
    who = (f"shared pool {_pool_text(cfg, ex.description)}" if ex.kind == "shared" else
           f"tenant {tenant.id}: first tenant in file order with a matching entry "
           f"({_matches_text(tenant)}) active on the row's day")
    s.append(f"{total['rows']} rated rows of {period.label} (kind {ex.kind}, line key "
             f"{ex.description!r}); taken by {who}")
    if ex.kind == "shared":
        s.append(f"  the pool rows cost {_d(by['pool_rows_cost'])} in all; this tenant's shares "
                 f"cost {_d(total['cost'])}")
    for name, key in (("source", "source"), ("account", "account")):
        for r in by[f"by_{name}"]:
            s.append(f"  {name} {r[key] or '(none)'}: {r['rows']} rows, cost "
                     f"{_d(r['cost'])}, amount {_d(r['amount'])} {ex.currency}")
    for r in by["by_service"]:
        s.append(f"  service {r['provider'] or ''} / {r['service'] or ''}: {r['rows']} rows, "
                 f"amount {_d(r['amount'])} {ex.currency}")
    for r in by["by_day"]:
        s.append(f"  day {r['day']}: {r['rows']} rows, amount {_d(r['amount'])} {ex.currency}")
    for r in by["pricing"]:
        s.append(f"pricing: {r['pricing_rule']} markup {_pct(r['markup'])} on {r['rows']} rows: "
                 f"cost {_d(r['cost'])} -> rated {_d(r['rated'])} {r['currency']}")
    for r in by["fx"]:
        dated = "same currency" if r["rate_date"] is None else f"rate dated {r['rate_date']}"
        s.append(f"fx: {r['currency']}->{ex.currency} x {_d(r['fx_rate'])} ({dated}) for "
                 f"{r['days']} days, {r['rows']} rows: rated {_d(r['rated'])} -> "
                 f"{_d(r['amount'])} {ex.currency}")
    s.append(f"sum: {_d(exact)} {ex.currency} (unrounded, 12 decimals per row) rounded half "
             f"away from zero to {ex.computed} ({_signed(ex.computed - exact)})")
    if rows:
        ex.facts["row_list"] = fetch_dicts(con, f"""SELECT r.x_source, r.x_row_id, r.day,
            c.SubAccountId AS account, r.provider, r.service, c.SkuId AS sku,
            c.ResourceId AS resource, r.pool, r.pricing_rule, r.cost, r.markup, r.rated,
            r.currency, r.fx_rate, r.amount
            FROM (SELECT * {where}) r LEFT JOIN {src} c USING (x_source, x_row_id)
            ORDER BY r.day, r.x_source, r.x_row_id LIMIT {ROWS_SHOWN}""", params)


def _fx(con: duckdb.DuckDBPyConnection, cfg: Config, where: str,
        params: list[Any]) -> list[dict[str, Any]]:
    """Rates by pair, with the date of the ``fx.csv`` row each came from (rule 6)."""
    return fetch_dicts(con, f"""
        WITH r AS (SELECT * {where}),
        dated AS (
          SELECT r.currency, r.day, r.fx_rate, max(f.date) AS rate_date
          FROM (SELECT DISTINCT currency, tenant_currency, day, fx_rate FROM r) r
          LEFT JOIN {FX_TABLE} f ON r.currency <> r.tenant_currency AND f.base = r.currency
           AND f.quote = r.tenant_currency AND f.rate = r.fx_rate
           AND f.date <= r.day AND f.date >= r.day - {LOOKBACK_DAYS}
          GROUP BY r.currency, r.day, r.fx_rate)
        SELECT r.currency, r.fx_rate, d.rate_date, count(DISTINCT r.day) AS days,
               count(*) AS rows, sum(r.rated) AS rated, sum(r.amount) AS amount
        FROM r JOIN dated d USING (currency, day, fx_rate)
        GROUP BY ALL ORDER BY r.currency, d.rate_date NULLS FIRST, r.fx_rate""", params)


def _fee_inputs(cfg: Config, tenant: Tenant, period: Period) -> list[dict[str, Any]]:
    """The tenant's fee lines as rule 8 computes them, in file order (non-zero only)."""
    currency = cfg.tenant_currency(tenant)
    out: list[dict[str, Any]] = []
    for fee in cfg.fees:
        if fee.tenant != tenant.id:
            continue
        facts: dict[str, Any] = {"fee_amount": fee.amount, "every": fee.every,
                                 "prorate": fee.prorate, "days_in_period": period.days}
        if fee.every == "once":
            if fee.date is None or Period.of(fee.date) != period:
                continue
            raw = fee.amount
            text = f"one-off fee dated {fee.date}: {_d(fee.amount)} {currency}"
            facts["date"] = fee.date
        else:
            days = active_days(tenant, period)
            if days == 0:
                continue
            facts["active_days"] = days
            raw = prorate(fee.amount, days, period) if fee.prorate else fee.amount
            text = (f"monthly fee {_d(fee.amount)} x {days}/{period.days} active days = "
                    f"{_d(raw)} {currency}" if fee.prorate else
                    f"monthly fee {_d(fee.amount)} {currency} (not prorated; "
                    f"{days}/{period.days} days active)")
        amount = round_money(raw, currency)
        if amount != 0:
            out.append({"description": fee.description, "raw": raw, "amount": amount,
                        "text": text, **facts})
    return out


def _fee(ex: Explanation, fees: list[dict[str, Any]]) -> None:
    for i, fee in enumerate(fees):
        if fee["description"] == ex.description:
            del fees[i]  # same description twice: the next line takes the next fee
            ex.computed = fee["amount"]
            ex.facts.update({k: v for k, v in fee.items() if k not in ("text", "description")})
            ex.steps.append(f"{fee['text']}, rounded to {fee['amount']}")
            return
    ex.steps.append("no [[fees]] entry of the current config gives this line (the config "
                    "changed since the period was rated?)")


def _minimum(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period, tenant: Tenant,
             ex: Explanation) -> None:
    if tenant.minimum is None or ex.description != MINIMUM_DESCRIPTION:
        ex.steps.append("the tenant has no minimum in the current config")
        return
    days = active_days(tenant, period)
    floor = round_money(prorate(tenant.minimum, days, period), ex.currency)
    [row] = fetch_dicts(con, """SELECT coalesce(sum(amount), 0) AS total FROM invoice_lines
        WHERE period = $1 AND tenant_id = $2 AND currency = $3
          AND kind IN ('usage', 'shared', 'fee')""", [period.label, tenant.id, ex.currency])
    total = Decimal(row["total"])
    ex.computed = floor - total
    ex.facts.update({"minimum": tenant.minimum, "active_days": days,
                     "days_in_period": period.days, "prorated_minimum": floor,
                     "lines_total": total})
    ex.steps.append(f"minimum {_d(tenant.minimum)} x {days}/{period.days} active days = "
                    f"{floor} {ex.currency} (rounded)")
    ex.steps.append(f"usage, shared and fee lines add up to {total} {ex.currency}: "
                    f"top-up {floor} - {total} = {ex.computed}")


def _pool_text(cfg: Config, description: str) -> str:
    name = description.removeprefix("Shared: ")
    pool = next((p for p in cfg.shared if p.name == name), None)
    if pool is None:
        return repr(name)
    how: str = pool.allocate
    if pool.allocate == "weights" and pool.weights:
        how += " " + ", ".join(f"{k}={_d(v)}" for k, v in pool.weights.items())
    return (f"{name!r} (match {_match_list(pool.match)}), split {how} among the tenants "
            "active on the row's day; this tenant's shares")


def _matches_text(tenant: Tenant) -> str:
    return _match_list(tenant.match) if tenant.match else "no match entries"


def _match_list(entries: list[Any]) -> str:
    parts = []
    for m in entries:
        keys = {k: v for k, v in m.model_dump().items() if v is not None}
        parts.append("{" + ", ".join(f"{k}={v}" for k, v in keys.items()) + "}")
    return " or ".join(parts)


def _d(value: Decimal | int | None) -> str:
    if value is None:
        return "0"
    d = Decimal(value)
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _signed(value: Decimal) -> str:
    return ("+" if value >= 0 else "") + _d(value)


def _pct(value: Decimal | None) -> str:
    return f"{_d((value or Decimal(0)) * 100)}%"


def json_ready(value: Any) -> Any:
    """Decimals as exact strings, dates as ISO text, recursively."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
