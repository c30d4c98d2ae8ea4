"""DigitalOcean invoice item -> canonical columns (declarative, reviewable).

| item field          | canonical column                       |
|---------------------|----------------------------------------|
| product             | ServiceName (and ServiceCategory below)|
| description         | SkuId                                  |
| group_description   | ChargeDescription (else description)   |
| resource_uuid       | ResourceId (else resource_id)          |
| resource_id         | ResourceName                           |
| project_name        | Tags["project"]                        |
| amount (string USD) | the four cost columns, spread per day  |
| start/end_time      | ChargePeriodStart/End, one row per day |
| duration (Hours)    | PricingQuantity / ConsumedQuantity     |
"""

from __future__ import annotations

import re

PROVIDER = "DigitalOcean"
CURRENCY = "USD"

# (pattern on product, case-insensitive) -> FOCUS ServiceCategory; first match wins.
SERVICE_CATEGORIES: tuple[tuple[str, str], ...] = (
    (r"gen ?ai|agent|inference|gpu", "AI and Machine Learning"),
    (r"database|postgres|mysql|redis|valkey|mongo|kafka|opensearch", "Databases"),
    (r"kubernetes|droplet|app platform|functions", "Compute"),
    (r"volume|space|snapshot|backup|image", "Storage"),
    (r"load balancer|floating ip|reserved ip|bandwidth|transfer|vpc|dns|cdn", "Networking"),
    (r"container registry", "Developer Tools"),
    (r"monitoring|uptime", "Management and Governance"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), c) for p, c in SERVICE_CATEGORIES)

TAX = re.compile(r"\btax(es)?\b|\bvat\b|\bgst\b", re.IGNORECASE)
CREDIT = re.compile(r"credit|promo|discount", re.IGNORECASE)


def service_category(product: str) -> str:
    for pattern, category in _COMPILED:
        if pattern.search(product):
            return category
    return "Other"


def charge_category(product: str, description: str, negative: bool) -> str:
    """Tax items are Tax; negative credit/promo items are Credit; else Usage."""
    if TAX.search(product) or TAX.search(description):
        return "Tax"
    if negative and (CREDIT.search(product) or CREDIT.search(description)):
        return "Credit"
    return "Usage"
