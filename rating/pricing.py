"""Which markup prices a rated row (DESIGN "Rating semantics" rule 5).

Candidates are the tenant's own ``markup`` and every ``[[pricing]]`` rule
whose scope keys all match the row and whose ``tenant`` is unset or this
tenant. The winner has the most scope keys, then names the tenant, then comes
later in the file; the tenant's own markup ranks as the earliest rule naming
the tenant with no scope keys. The ranking is fixed per config, so it compiles
to one ``CASE`` chain evaluated in DuckDB.
"""

from __future__ import annotations

from decimal import Decimal

from rebill.config import PRICING_SCOPE_KEYS, Config, Pricing
from rebill.sql import literal

# pricing scope key -> column of the rated-rows table
SCOPE_COLUMNS: dict[str, str] = {
    "provider": "provider",
    "service": "service",
    "sku": "sku",
    "region": "region",
    "charge_category": "charge_category",
}

FACTOR_SQL = "DECIMAL(20,12)"  # 1 + markup, and FX rates: 8 integer digits


def scope_keys(rule: Pricing) -> int:
    return sum(getattr(rule, k) is not None for k in PRICING_SCOPE_KEYS)


def rule_label(index: int) -> str:
    return f"pricing[{index}]"


def tenant_label(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


def ranked_rules(cfg: Config) -> list[tuple[int, Pricing]]:
    """Rules that can beat a tenant's own markup, best first."""
    rules = [
        (i, r) for i, r in enumerate(cfg.pricing)
        if scope_keys(r) > 0 or r.tenant is not None
    ]
    rules.sort(key=lambda ir: (scope_keys(ir[1]), ir[1].tenant is not None, ir[0]), reverse=True)
    return rules


def _applies(rule: Pricing, tenant_idx: dict[str, int]) -> str:
    parts: list[str] = []
    if rule.tenant is not None:
        idx = tenant_idx.get(rule.tenant)
        if idx is None:  # unknown tenant: rebill check reports it; never applies
            return "false"
        parts.append(f"tenant_idx = {idx}")
    for key in PRICING_SCOPE_KEYS:
        value = getattr(rule, key)
        if value is not None:
            if key == "region":
                parts.append(f"(region = {literal(value)} OR region_name = {literal(value)})")
            else:
                parts.append(f"{SCOPE_COLUMNS[key]} = {literal(value)}")
    return "coalesce(" + " AND ".join(parts) + ", false)"


def _dec(value: Decimal) -> str:
    return f"CAST('{value}' AS {FACTOR_SQL})"


def markup_sql(cfg: Config, passthrough_tax: bool) -> tuple[str, str]:
    """SQL expressions (markup, pricing_rule) over a table with tenant_idx and scope columns."""
    tenant_idx = {t.id: i for i, t in enumerate(cfg.tenants)}
    markups: list[str] = []
    labels: list[str] = []
    if passthrough_tax:
        markups.append(f"WHEN is_tax THEN {_dec(Decimal(0))}")
        labels.append("WHEN is_tax THEN 'provider_tax'")
    for i, rule in ranked_rules(cfg):
        cond = _applies(rule, tenant_idx)
        markups.append(f"WHEN {cond} THEN {_dec(rule.markup)}")
        labels.append(f"WHEN {cond} THEN {literal(rule_label(i))}")
    # The tenant's own markup is the last candidate and always applies: one list
    # lookup by tenant_idx instead of a WHEN per tenant.
    own_markup, own_label = _dec(Decimal(0)), "NULL"
    if cfg.tenants:
        own_markup = "[" + ", ".join(_dec(t.markup) for t in cfg.tenants) + "][tenant_idx + 1]"
        own_label = (
            "[" + ", ".join(literal(tenant_label(t.id)) for t in cfg.tenants) + "][tenant_idx + 1]"
        )
    if not markups:
        return own_markup, own_label
    return (
        f"CASE {' '.join(markups)} ELSE {own_markup} END",
        f"CASE {' '.join(labels)} ELSE {own_label} END",
    )
