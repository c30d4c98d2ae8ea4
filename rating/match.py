"""The match language compiled to DuckDB predicates over canonical columns.

A ``match`` list is any-of; each entry is all-of over its keys. Values compare
exactly (case-sensitive); ``resource`` is a glob on ResourceId; ``tag`` is
``"k=v"`` (the tag ``k`` has value ``v``) or ``"k"`` (the tag is present).
A NULL column never matches. Every predicate is wrapped in ``coalesce(..., false)``
so it can be used in ``CASE WHEN`` chains and boolean algebra safely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rebill.config import Match, Tenant
from rebill.sql import literal

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


def tag_keys(entries: Sequence[Match]) -> list[str]:
    """The tag keys compared by value (``"k=v"``) in ``entries``, in first-seen order."""
    keys: list[str] = []
    for entry in entries:
        if entry.tag is not None and "=" in entry.tag:
            key = entry.tag.partition("=")[0]
            if key not in keys:
                keys.append(key)
    return keys


def entry_sql(entry: Match, tags: Mapping[str, str] | None = None) -> str:
    """All-of predicate of one match entry.

    ``tags`` maps a tag key to a column already holding
    ``map_extract_value("Tags", key)`` (so a long any-of chain looks each key up once).
    """
    parts: list[str] = []
    for key, column in EQUALS.items():
        value = getattr(entry, key)
        if value is not None:
            parts.append(f'"{column}" = {literal(value)}')
    if entry.region is not None:
        parts.append(f'("RegionId" = {literal(entry.region)} OR "RegionName" = {literal(entry.region)})')
    if entry.resource is not None:
        parts.append(f'"ResourceId" GLOB {literal(entry.resource)}')
    if entry.tag is not None:
        key, sep, value = entry.tag.partition("=")
        if sep and tags is not None and key in tags:
            parts.append(f"{tags[key]} = {literal(value)}")
        elif sep:
            parts.append(f'map_extract_value("Tags", {literal(key)}) = {literal(value)}')
        else:
            parts.append(f'map_contains("Tags", {literal(key)})')
    return "coalesce(" + " AND ".join(parts) + ", false)"


def match_sql(entries: Sequence[Match], tags: Mapping[str, str] | None = None) -> str:
    """Any-of predicate of a match list (an empty list matches nothing)."""
    if not entries:
        return "false"
    return "(" + " OR ".join(entry_sql(e, tags) for e in entries) + ")"


def active_sql(tenant: Tenant, day: str = "day") -> str:
    """Whether ``tenant`` is active on the DATE expression ``day`` (start in, end out)."""
    parts = ["true"]
    if tenant.start is not None:
        parts.append(f"{day} >= DATE '{tenant.start.isoformat()}'")
    if tenant.end is not None:
        parts.append(f"{day} < DATE '{tenant.end.isoformat()}'")
    return "(" + " AND ".join(parts) + ")"
