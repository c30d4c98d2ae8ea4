"""Canonical rows for the invoice-based connectors (DigitalOcean, Linode).

Both bill monthly invoices whose items cover spans of hours. An item becomes
one row per UTC day it covers (:func:`connectors.spread.spread`), with the
four FOCUS cost columns equal (no amortization or negotiated rates on these
invoices). Rows are plain dicts until :func:`to_batch` types them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from rebill.connectors.base import SourceBatch
from rebill.connectors.spread import DayShare
from rebill.errors import DataContractError
from rebill.money import parse_decimal, round12
from rebill.periods import Period
from rebill.schema import BY_NAME

# The canonical columns these connectors fill, in schema order.
COLUMNS: tuple[str, ...] = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
    "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ChargeFrequency", "ChargePeriodStart", "ChargePeriodEnd",
    "InvoiceIssuerName", "PricingQuantity", "PricingUnit", "ProviderName",
    "PublisherName", "ServiceCategory", "ServiceName", "RegionId", "RegionName",
    "ResourceId", "ResourceName", "SkuId", "PricingCategory", "ConsumedQuantity",
    "ConsumedUnit", "ListUnitPrice", "ContractedUnitPrice", "InvoiceId", "Tags",
    "x_estimated",
)
SCHEMA = pa.schema([pa.field(c, BY_NAME[c].arrow) for c in COLUMNS])


@dataclass(frozen=True)
class Billing:
    """Facts shared by every row of one partition."""

    provider: str  # ProviderName / PublisherName / InvoiceIssuerName
    account_id: str
    account_name: str | None
    currency: str
    period: Period
    invoice_id: str | None
    estimated: bool



def parse_amount(value: object, where: str) -> Decimal:
    """An API amount (string, int, or a JSON number the SDK parsed) as an exact Decimal."""
    return parse_decimal(value, where, error=DataContractError, json_numbers=True)


def parse_time(value: object, where: str) -> datetime:
    """An API timestamp (``...Z``, offset, or naive meaning UTC)."""
    if not isinstance(value, str) or not value.strip():
        raise DataContractError(f"{where}: expected a timestamp, got {value!r}")
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DataContractError(f"{where}: {value!r} is not a timestamp") from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def day_row(
    billing: Billing,
    share: DayShare,
    *,
    category: str,
    frequency: str,
    service: str,
    service_category: str,
    description: str | None,
    sku: str | None = None,
    resource_id: str | None = None,
    resource_name: str | None = None,
    region: str | None = None,
    unit: str | None = None,
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One canonical row: ``share`` of an item on one day."""
    amount = round12(share.amount)
    if amount != share.amount:
        raise DataContractError(
            f"{billing.provider} {billing.period}: amount {share.amount} has more than 12 decimals"
        )
    qty = None if quantity is None else round12(quantity * share.fraction)
    return {
        "BilledCost": amount, "EffectiveCost": amount, "ListCost": amount,
        "ContractedCost": amount,
        "BillingAccountId": billing.account_id, "BillingAccountName": billing.account_name,
        "BillingCurrency": billing.currency,
        "BillingPeriodStart": billing.period.start_ts, "BillingPeriodEnd": billing.period.end_ts,
        "ChargeCategory": category, "ChargeClass": None, "ChargeDescription": description,
        "ChargeFrequency": frequency,
        "ChargePeriodStart": share.start, "ChargePeriodEnd": share.end,
        "InvoiceIssuerName": billing.provider,
        "PricingQuantity": qty, "PricingUnit": unit if qty is not None else None,
        "ProviderName": billing.provider, "PublisherName": billing.provider,
        "ServiceCategory": service_category, "ServiceName": service,
        "RegionId": region, "RegionName": region,
        "ResourceId": resource_id, "ResourceName": resource_name, "SkuId": sku,
        "PricingCategory": None if category == "Tax" else "Standard",
        "ConsumedQuantity": qty if category == "Usage" else None,
        "ConsumedUnit": unit if category == "Usage" and qty is not None else None,
        "ListUnitPrice": unit_price, "ContractedUnitPrice": unit_price,
        "InvoiceId": billing.invoice_id,
        "Tags": sorted(tags.items()) if tags else None,
        "x_estimated": billing.estimated,
    }


def to_batch(rows: Sequence[dict[str, Any]], origin: str) -> SourceBatch:
    """Typed Arrow rows (exact decimals, UTC timestamps) for normalize."""
    table = pa.Table.from_pylist(list(rows), schema=SCHEMA)
    return SourceBatch(data=table, origin=origin)


def canonical_json(value: object) -> str:
    """Stable JSON of API data (Decimals as strings) for fingerprints."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
