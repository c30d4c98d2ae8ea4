"""Linode invoice item -> canonical columns (declarative, reviewable).

An item's ``label`` reads ``"<product> - <resource label> (<id>)"``, for
example ``"Linode 4GB - web1 (40212345)"`` or ``"Backup Service - Linode 4GB
- web1 (40212345)"``.

| item field (raw JSON) | canonical column                              |
|-----------------------|-----------------------------------------------|
| label                 | ChargeDescription; product -> SkuId and the   |
|                       | ServiceName/ServiceCategory rules below;      |
|                       | resource label -> ResourceName; id -> ResourceId |
| amount                | the four cost columns, spread per day         |
| tax                   | Tax rows (ChargeCategory Tax) on the same days|
| from / to             | ChargePeriodStart/End, one row per day        |
| type hourly / misc    | ChargeFrequency Usage-Based / One-Time        |
| unit_price, quantity  | ListUnitPrice, PricingQuantity (hours when hourly) |
| region                | RegionId / RegionName                         |
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROVIDER = "Linode"
CURRENCY = "USD"  # Linode invoices are in US dollars

# (pattern on the label, case-insensitive) -> (ServiceName, ServiceCategory); first match wins.
SERVICES: tuple[tuple[str, str, str], ...] = (
    (r"^backup", "Backups", "Storage"),
    (r"kubernetes|\blke\b", "Linode Kubernetes Engine", "Compute"),
    (r"database", "Managed Databases", "Databases"),
    (r"nodebalancer", "NodeBalancers", "Networking"),
    (r"block storage|volume", "Block Storage", "Storage"),
    (r"object storage", "Object Storage", "Storage"),
    (r"transfer|bandwidth", "Network Transfer", "Networking"),
    (r"\bip(v4|v6)?\b|address", "IP Addresses", "Networking"),
    (r"image", "Images", "Storage"),
    (r"^(linode|nanode|dedicated|shared|high memory|premium|gpu)", "Linodes", "Compute"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), s, c) for p, s, c in SERVICES)
_LABEL = re.compile(r"^(?P<sku>.+?) - (?P<name>.+?)(?: \((?P<id>[0-9]+)\))?$")
CREDIT = re.compile(r"credit|promo|refund", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    service: str
    category: str
    sku: str
    resource_name: str | None
    resource_id: str | None


def parse_label(label: str) -> Parsed:
    service, category = "Other", "Other"
    for pattern, s, c in _COMPILED:
        if pattern.search(label):
            service, category = s, c
            break
    m = _LABEL.match(label)
    if m is None:
        return Parsed(service, category, label, None, None)
    return Parsed(service, category, m["sku"], m["name"], m["id"])
