"""Invoice lines, fees, minimums and their order (DESIGN rules 7-10).

Usage and shared lines arrive as exact sums (12 decimals) from DuckDB, a few
per tenant; everything here works on those few values in Python ``Decimal``
and rounds through :mod:`rebill.money` only, once per line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from rebill.config import Config, Tenant
from rebill.errors import RatingError
from rebill.lines import KINDS, Line
from rebill.money import round_money
from rebill.periods import Period

MINIMUM_DESCRIPTION = "Minimum commitment top-up"




# Corrections hook: lines to append after the minimum, given the draft lines.
ExtraLines = Callable[[Period, Sequence[Line]], Iterable[Line]] | Iterable[Line]


def active_days(tenant: Tenant, period: Period) -> int:
    """Days of ``period`` on which ``tenant`` is active (start inclusive, end exclusive)."""
    first = max(period.start, tenant.start) if tenant.start else period.start
    last = min(period.end, tenant.end) if tenant.end else period.end
    return max(0, (last - first).days)


def prorate(amount: Decimal, days: int, period: Period) -> Decimal:
    """``amount * days / days_in_P`` (exact enough: 28 significant digits before rounding)."""
    return amount * days / period.days


def fee_lines(cfg: Config, period: Period) -> list[Line]:
    """Fee lines in file order (rule 8); zero amounts give no line."""
    out: list[Line] = []
    for fee in cfg.fees:
        tenant = cfg.tenant(fee.tenant)
        currency = cfg.tenant_currency(tenant)
        if fee.every == "once":
            if fee.date is None or Period.of(fee.date) != period:
                continue
            amount = round_money(fee.amount, currency)
        else:
            days = active_days(tenant, period)
            if days == 0:
                continue
            raw = prorate(fee.amount, days, period) if fee.prorate else fee.amount
            amount = round_money(raw, currency)
        if amount != 0:
            out.append(Line(tenant.id, "fee", fee.description, amount, currency))
    return out


def minimum_line(cfg: Config, tenant: Tenant, period: Period, lines: Sequence[Line]) -> Line | None:
    """The top-up line when the tenant's usage, shared and fee lines are below its minimum."""
    if tenant.minimum is None:
        return None
    currency = cfg.tenant_currency(tenant)
    floor = round_money(prorate(tenant.minimum, active_days(tenant, period), period), currency)
    total = sum((ln.amount for ln in lines if ln.kind in ("usage", "shared", "fee")), Decimal(0))
    if total >= floor:
        return None
    return Line(tenant.id, "minimum", MINIMUM_DESCRIPTION, floor - total, currency)


def correction_lines(
    cfg: Config, period: Period, drafts: Sequence[Line], extra: ExtraLines | None
) -> list[Line]:
    """Validate the corrections hook's lines: known tenant, its currency, rounded."""
    if extra is None:
        return []
    produced = list(extra(period, drafts) if callable(extra) else extra)
    out: list[Line] = []
    for ln in produced:
        tenant = cfg.tenant(ln.tenant_id)
        currency = cfg.tenant_currency(tenant)
        if ln.currency != currency:
            raise RatingError(
                f"correction for tenant {ln.tenant_id} ({ln.description!r}) is in {ln.currency}, "
                f"the tenant is billed in {currency}"
            )
        amount = round_money(ln.amount, currency)
        if amount != 0:
            out.append(replace(ln, kind="correction", amount=amount))
    return out


def number_lines(cfg: Config, lines: Sequence[Line]) -> list[Line]:
    """Give each tenant's lines their ``line_no`` (rule 10) and ``taxed`` flag.

    ``lines`` must already be in order within each kind (usage by description,
    shared by pool order, fees in file order, corrections as given).
    """
    by_tenant: dict[str, list[Line]] = {}
    for ln in lines:
        by_tenant.setdefault(ln.tenant_id, []).append(ln)
    out: list[Line] = []
    for tenant in cfg.tenants:
        mine = by_tenant.get(tenant.id, [])
        ordered = [ln for kind in KINDS for ln in mine if ln.kind == kind]
        out += [
            replace(ln, line_no=n, taxed=tenant.taxable) for n, ln in enumerate(ordered, start=1)
        ]
    return out




