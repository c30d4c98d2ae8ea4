"""The match language compiled to DuckDB predicates over canonical columns.

A ``match`` list is any-of; each entry is all-of over its keys. Values compare
exactly (case-sensitive); ``resource`` is a glob on ResourceId; ``tag`` is
``"k=v"`` (the tag ``k`` has value ``v``) or ``"k"`` (the tag is present).
A NULL column never matches. Every predicate is wrapped in ``coalesce(..., false)``
so it can be used in ``CASE WHEN`` chains and boolean algebra safely.
"""

from __future__ import annotations

from collections.abc import Sequence

from rebill.config import Match, Tenant

# match key -> canonical column compared for equality
EQUALS: dict[str, str] = {
    "provider": "ProviderName",
    "source": "x_source",
    "billing_account": "BillingAccountId",
    "account": "SubAccountId",
    "service": "ServiceName",
    "sku": "SkuId",
    "charge_category": "ChargeCategory",
}


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def entry_sql(entry: Match) -> str:
    """All-of predicate of one match entry."""
    parts: list[str] = []
    for key, column in EQUALS.items():
        value = getattr(entry, key)
        if value is not None:
            parts.append(f'"{column}" = {lit(value)}')
    if entry.region is not None:
        parts.append(f'("RegionId" = {lit(entry.region)} OR "RegionName" = {lit(entry.region)})')
    if entry.resource is not None:
        parts.append(f'"ResourceId" GLOB {lit(entry.resource)}')
    if entry.tag is not None:
        key, sep, value = entry.tag.partition("=")
        if sep:
            parts.append(f'map_extract_value("Tags", {lit(key)}) = {lit(value)}')
        else:
            parts.append(f'map_contains("Tags", {lit(key)})')
    return "coalesce(" + " AND ".join(parts) + ", false)"


def match_sql(entries: Sequence[Match]) -> str:
    """Any-of predicate of a match list (an empty list matches nothing)."""
    if not entries:
        return "false"
    return "(" + " OR ".join(entry_sql(e) for e in entries) + ")"


def active_sql(tenant: Tenant, day: str = "day") -> str:
    """Whether ``tenant`` is active on the DATE expression ``day`` (start in, end out)."""
    parts = ["true"]
    if tenant.start is not None:
        parts.append(f"{day} >= DATE '{tenant.start.isoformat()}'")
    if tenant.end is not None:
        parts.append(f"{day} < DATE '{tenant.end.isoformat()}'")
    return "(" + " AND ".join(parts) + ")"
