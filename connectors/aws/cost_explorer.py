"""The ``aws_cost_explorer`` source: daily totals from ``ce:GetCostAndUsage``.

Coarser than CUR: one row per day and group (at most two GroupBy keys, e.g.
linked account and service, or a tag), one metric. Rows say so: their
ChargeDescription names the Cost Explorer aggregate and ``x_estimated`` carries
the day's ``Estimated`` flag (the open month), so a later fetch replaces them.

Every request costs $0.01: requests are counted, logged and reported in the
extract's notes. botocore has no paginator for this call; the connector loops
on ``NextPageToken``. ``LimitExceededException`` is retried here, with bounded
exponential backoff and jitter (botocore's own retries are off for this client).

The fingerprint is a hash of the full result set, so extract() fetches every
page up front and keeps the rows in memory: a month is at most days x groups
rows (thousands), small enough by design.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field, field_validator

from rebill.connectors.aws.client import error_code, make_client, translate
from rebill.connectors.base import ConnectorSpec, Context, Extract, SourceBatch, SourceConfig
from rebill.errors import FatalConnectorError, RetriableConnectorError
from rebill.money import round12
from rebill.periods import Period, periods_between
from rebill.retry import Retriable, Retry, call
from rebill.schema import BY_NAME

log = logging.getLogger("rebill.aws_cost_explorer")
MAX_PAGES = 10_000
BATCH_ROWS = 50_000
DIMENSIONS = frozenset({
    "AZ", "INSTANCE_TYPE", "LEGAL_ENTITY_NAME", "INVOICING_ENTITY", "LINKED_ACCOUNT",
    "OPERATION", "PLATFORM", "PURCHASE_TYPE", "SERVICE", "TENANCY", "RECORD_TYPE",
    "USAGE_TYPE", "REGION", "DATABASE_ENGINE", "INSTANCE_TYPE_FAMILY", "BILLING_ENTITY",
    "RESERVATION_ID", "SAVINGS_PLAN_ARN", "OPERATING_SYSTEM", "DEPLOYMENT_OPTION",
})
# Dimension -> canonical column it fills.
DIMENSION_COLUMNS = {
    "LINKED_ACCOUNT": "SubAccountId", "SERVICE": "ServiceName", "REGION": "RegionId",
    "AZ": "AvailabilityZone", "USAGE_TYPE": "SkuId", "INVOICING_ENTITY": "InvoiceIssuerName",
}
# RECORD_TYPE values -> ChargeCategory; SERVICE "Tax" is tax too.
RECORD_CATEGORY = {
    "Usage": "Usage", "Tax": "Tax", "Credit": "Credit", "Refund": "Usage",
    "DiscountedUsage": "Usage", "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage", "Recurring reservation fee": "Purchase",
    "RIFee": "Purchase", "SavingsPlanRecurringFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase", "Upfront reservation fee": "Purchase",
    "Fee": "Purchase", "Support fee": "Purchase", "Enterprise Discount Program Discount": "Credit",
    "EdpDiscount": "Credit", "Discount": "Credit", "BundledDiscount": "Credit",
}
Metric = Literal["UnblendedCost", "NetUnblendedCost", "AmortizedCost", "NetAmortizedCost",
                 "BlendedCost"]


class AwsCostExplorerSource(SourceConfig):
    type: Literal["aws_cost_explorer"] = "aws_cost_explorer"
    metric: Metric = "UnblendedCost"
    group_by: list[str] = Field(default_factory=lambda: ["LINKED_ACCOUNT", "SERVICE"],
                                max_length=2)
    billing_account: str | None = None  # payer id; default: the caller's account (STS)
    region: str | None = None
    max_retries: int = Field(default=5, ge=0, le=10)

    @field_validator("group_by")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not (key in DIMENSIONS or (key.startswith("TAG:") and len(key) > 4)):
                raise ValueError(f"{key!r} is neither a Cost Explorer dimension nor TAG:<key>")
        return value


def _group_by(key: str) -> dict[str, str]:
    if key.startswith("TAG:"):
        return {"Type": "TAG", "Key": key[4:]}
    return {"Type": "DIMENSION", "Key": key}


class CostExplorerConnector:
    sleep: ClassVar[Callable[[float], None]] = time.sleep
    backoff_base: ClassVar[float] = 1.0

    def __init__(self, source_id: str, cfg: AwsCostExplorerSource, ctx: Context) -> None:
        self.source_id = source_id
        self.cfg = cfg
        self.ctx = ctx
        self.requests = 0
        self._ce: Any = None

    @property
    def ce(self) -> Any:
        if self._ce is None:
            self._ce = make_client("ce", self.cfg.endpoint, self.cfg.region or "us-east-1",
                                   max_attempts=1)
        return self._ce

    def periods(self, since: date, until: date) -> list[Period]:
        """Months in range up to today (Cost Explorer has no future days)."""
        return [p for p in periods_between(since, until) if p.start <= self.ctx.today]

    def _billing_account(self) -> str:
        if self.cfg.billing_account:
            return self.cfg.billing_account
        sts = make_client("sts", self.cfg.endpoint, self.cfg.region or "us-east-1")
        try:
            return str(sts.get_caller_identity()["Account"])
        except (ClientError, BotoCoreError) as err:
            raise translate(err, f"source {self.source_id}: sts:GetCallerIdentity") from None

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        """One page, retrying throttling through rebill.retry; every attempt is counted."""
        where = f"source {self.source_id}: ce:GetCostAndUsage"

        def attempt() -> dict[str, Any]:
            self.requests += 1
            page: dict[str, Any] = self.ce.get_cost_and_usage(**request)
            return page

        def classify(err: Exception) -> Retriable | None:
            throttled = isinstance(err, ClientError) and error_code(err) == "LimitExceededException"
            return Retriable("throttled (LimitExceededException)") if throttled else None

        def give_up(_err: Exception, _verdict: Retriable, attempts: int) -> Exception:
            return RetriableConnectorError(f"{where}: still throttled after {attempts} attempts")

        policy = Retry(attempts=self.cfg.max_retries + 1, base=self.backoff_base,
                       sleep=type(self).sleep)
        try:
            return call(attempt, catch=(ClientError,), classify=classify, policy=policy,
                        what=where, give_up=give_up)
        except (ClientError, BotoCoreError) as err:
            raise translate(err, where) from None

    def fetch(self, period: Period) -> list[dict[str, Any]]:
        """Every ``ResultsByTime`` entry of the period, all pages."""
        end = min(period.end, self.ctx.today + timedelta(days=1))
        if end <= period.start:
            return []
        request: dict[str, Any] = {
            "TimePeriod": {"Start": period.start.isoformat(), "End": end.isoformat()},
            "Granularity": "DAILY",
            "Metrics": [self.cfg.metric],
        }
        if self.cfg.group_by:
            request["GroupBy"] = [_group_by(k) for k in self.cfg.group_by]
        results: list[dict[str, Any]] = []
        before = self.requests
        for _ in range(MAX_PAGES):
            page = self._call(request)
            results += page.get("ResultsByTime", [])
            token = page.get("NextPageToken")
            if not token:
                break
            request["NextPageToken"] = token
        else:
            raise FatalConnectorError(
                f"source {self.source_id}: ce:GetCostAndUsage: more than {MAX_PAGES} pages"
            )
        made = self.requests - before
        log.info("%s %s: %d Cost Explorer requests (~$%s)", self.source_id, period, made,
                 Decimal(made) / 100)
        return results

    def extract(self, period: Period) -> Extract:
        before = self.requests
        results = self.fetch(period)
        blob = json.dumps(results, sort_keys=True, default=str).encode()
        rows = self._rows(period, results) if results else []
        return Extract(
            fingerprint=hashlib.sha256(blob).hexdigest()[:32],
            batches=_batches(rows, f"ce:GetCostAndUsage {period.label}"),
            notes={"requests": str(self.requests - before), "rows": str(len(rows))},
        )

    # -- mapping -------------------------------------------------------------
    def _rows(self, period: Period, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        account = self._billing_account()
        rows: list[dict[str, Any]] = []
        for entry in results:
            day = date.fromisoformat(entry["TimePeriod"]["Start"])
            estimated = bool(entry.get("Estimated", False))
            groups = entry.get("Groups") or []
            if not groups and entry.get("Total"):
                groups = [{"Keys": [], "Metrics": entry["Total"]}]
            for group in groups:
                rows.append(self._row(period, account, day, estimated, group))
        return rows

    def _row(self, period: Period, account: str, day: date, estimated: bool,
             group: dict[str, Any]) -> dict[str, Any]:
        metric = group.get("Metrics", {}).get(self.cfg.metric)
        where = f"source {self.source_id}: ce:GetCostAndUsage {day}, group {group.get('Keys')}"
        if not isinstance(metric, dict):
            raise FatalConnectorError(f"{where}: no {self.cfg.metric} in the answer")
        try:
            amount = round12(Decimal(str(metric["Amount"])))
        except (InvalidOperation, KeyError):
            raise FatalConnectorError(f"{where}: bad amount {metric.get('Amount')!r}") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        row: dict[str, Any] = {
            "BilledCost": amount, "EffectiveCost": amount, "ListCost": amount,
            "ContractedCost": amount, "BillingAccountId": account, "BillingAccountName": None,
            "BillingCurrency": str(metric.get("Unit") or "USD"),
            "BillingPeriodStart": period.start_ts, "BillingPeriodEnd": period.end_ts,
            "ChargeClass": None, "ChargePeriodStart": start,
            "ChargePeriodEnd": start + timedelta(days=1),
            "InvoiceIssuerName": "Amazon Web Services, Inc.", "PricingQuantity": None,
            "PricingUnit": None, "ProviderName": "AWS", "PublisherName": "AWS",
            "ServiceCategory": "Other", "ServiceName": "All services", "x_estimated": estimated,
        }
        tags: dict[str, str] = {}
        record_type = None
        for key, value in zip(self.cfg.group_by, group.get("Keys", []), strict=False):
            if key.startswith("TAG:"):
                name, _, tag_value = str(value).partition("$")
                if tag_value:
                    tags[name or key[4:]] = tag_value
            elif key == "RECORD_TYPE":
                record_type = str(value)
            elif key in DIMENSION_COLUMNS:
                row[DIMENSION_COLUMNS[key]] = str(value)
        category = RECORD_CATEGORY.get(record_type or "", "Usage")
        if row["ServiceName"] == "Tax":
            category = "Tax"
        row["ChargeCategory"] = category
        row["ChargeFrequency"] = "Usage-Based" if category == "Usage" else "One-Time"
        row["Tags"] = list(tags.items()) if tags else None
        keys = ", ".join(f"{k}={v}" for k, v in zip(self.cfg.group_by, group.get("Keys", []),
                                                   strict=False))
        row["ChargeDescription"] = (
            f"Cost Explorer daily aggregate ({self.cfg.metric})" + (f": {keys}" if keys else "")
        )
        return row


COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId",
    "BillingAccountName", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodStart", "ChargePeriodEnd", "InvoiceIssuerName", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
    "SubAccountId", "RegionId", "AvailabilityZone", "SkuId", "Tags", "x_estimated",
)
SCHEMA = pa.schema([pa.field(c, BY_NAME[c].arrow) for c in COLUMNS])


def _batches(rows: list[dict[str, Any]], origin: str) -> Iterator[SourceBatch]:
    for start in range(0, len(rows), BATCH_ROWS):
        chunk = rows[start:start + BATCH_ROWS]
        data = pa.Table.from_pydict(
            {c: [r.get(c) for r in chunk] for c in COLUMNS}, schema=SCHEMA)
        yield SourceBatch(data=data, origin=origin, first_row=start + 1)


SPEC = ConnectorSpec(
    type="aws_cost_explorer",
    config_model=AwsCostExplorerSource,
    factory=CostExplorerConnector,  # type: ignore[arg-type]
    provider="aws",
)
