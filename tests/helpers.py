"""Small builders for canonical rows and an in-memory connector."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from rebill.connectors.base import Extract, SourceBatch
from rebill.periods import Period
from rebill.schema import SOURCE_ARROW_SCHEMA


def row(day: date, cost: str, **over: Any) -> dict[str, Any]:
    """One canonical cost row (USD, AWS EC2 usage) on ``day``; override any column."""
    p = Period.of(day)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    base: dict[str, Any] = {
        "BilledCost": Decimal(cost), "EffectiveCost": Decimal(cost),
        "ListCost": Decimal(cost), "ContractedCost": Decimal(cost),
        "BillingAccountId": "111", "BillingAccountName": "Payer",
        "BillingCurrency": "USD", "BillingPeriodStart": p.start_ts, "BillingPeriodEnd": p.end_ts,
        "ChargeCategory": "Usage", "ChargeClass": None, "ChargeDescription": "test",
        "ChargeFrequency": "Usage-Based", "ChargePeriodStart": start,
        "ChargePeriodEnd": start + timedelta(days=1), "InvoiceIssuerName": "AWS",
        "PricingQuantity": Decimal(1), "PricingUnit": "Hours", "ProviderName": "AWS",
        "PublisherName": "AWS", "ServiceCategory": "Compute", "ServiceName": "Amazon EC2",
        "SubAccountId": "222", "Tags": [],
    }
    base.update(over)
    if isinstance(base.get("Tags"), dict):
        base["Tags"] = list(base["Tags"].items())
    return base


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SOURCE_ARROW_SCHEMA)


@dataclass
class ListConnector:
    """A connector over rows in memory, optionally slow (for kill tests)."""

    source_id: str
    rows: dict[str, list[dict[str, Any]]]  # period label -> rows
    fingerprint: str = "v1"
    batch_size: int = 1000
    delay: float = 0.0
    calls: list[str] = field(default_factory=list)

    def periods(self, since: date, until: date) -> list[Period]:
        found = [Period.parse(k) for k in sorted(self.rows)]
        return [p for p in found if p.end > since and p.start <= until]

    def extract(self, period: Period) -> Extract:
        self.calls.append(period.label)
        return Extract(self.fingerprint, self._batches(period))

    def _batches(self, period: Period) -> Iterator[SourceBatch]:
        data = self.rows.get(period.label, [])
        for i in range(0, len(data), self.batch_size):
            if self.delay:
                time.sleep(self.delay)
            yield SourceBatch(table(data[i:i + self.batch_size]), "memory", first_row=i + 1)
