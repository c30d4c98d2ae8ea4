"""The match language compiled to DuckDB predicates over canonical columns.

A ``match`` list is any-of; each entry is all-of over its keys. Values compare
exactly (case-sensitive); ``resource`` is a glob on ResourceId; ``tag`` is
``"k=v"`` (the tag ``k`` has value ``v``) or ``"k"`` (the tag is present).
A NULL column never matches. Every predicate is wrapped in ``coalesce(..., false)``
so it can be used in ``CASE WHEN`` chains and boolean algebra safely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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


def lookup_key(entry: Match) -> tuple[str, str] | None:
    """(key, value) when ``entry`` is one equality a hash lookup can serve, else None.

    The key is ``tag:k`` for ``tag = "k=v"`` or a match key of :data:`EQUALS`.
    """
    given = [k for k in (*EQUALS, "region", "resource", "tag") if getattr(entry, k) is not None]
    if len(given) != 1:
        return None
    key = given[0]
    if key == "tag":
        tag = entry.tag or ""
        k, sep, v = tag.partition("=")
        return (f"tag:{k}", v) if sep else None
    if key in EQUALS:
        return key, str(getattr(entry, key))
    return None


@dataclass(frozen=True)
class Run:
    """Consecutive tenants (file order) whose every entry is an equality on one ``key``,
    each value naming one tenant of the run: a row's value finds its only candidate
    in one hash lookup instead of a ``WHEN`` per tenant."""

    key: str
    values: dict[str, int]  # value -> tenant index


def tenant_runs(tenants: Sequence[Tenant], min_run: int = 4) -> list[Run | int]:
    """The tenant chain in file order: lookup runs (of ``min_run`` tenants or more) and
    single tenant indexes, the same first-match-wins order as a ``WHEN`` per tenant."""
    out: list[Run | int] = []
    run: Run | None = None
    members: list[int] = []

    def close() -> None:
        nonlocal run
        if run is not None:
            out.extend([run] if len(members) >= min_run else members)
        run = None
        members.clear()

    for idx, tenant in enumerate(tenants):
        keys = [lookup_key(e) for e in tenant.match]
        simple = bool(keys) and all(k is not None for k in keys) \
            and len({k[0] for k in keys if k}) == 1
        if not simple:
            close()
            out.append(idx)
            continue
        key = keys[0][0] if keys[0] else ""
        values = {k[1] for k in keys if k}
        if run is None or run.key != key or values & run.values.keys():
            close()
            run = Run(key, {})
        run.values.update(dict.fromkeys(values, idx))
        members.append(idx)
    close()
    return out
