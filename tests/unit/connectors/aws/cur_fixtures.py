"""CUR 2.0 fixture rows and helpers putting an export (files + manifest) into S3."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PAYER = "999900001111"
ACCT_A = "111111111111"
ACCT_B = "222222222222"
MONEY = (
    "line_item_unblended_cost", "line_item_net_unblended_cost", "line_item_usage_amount",
    "pricing_public_on_demand_cost", "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date", "savings_plan_used_commitment",
    "reservation_effective_cost",
)
TIMES = (
    "bill_billing_period_start_date", "bill_billing_period_end_date",
    "line_item_usage_start_date", "line_item_usage_end_date",
)
STRINGS = (
    "identity_line_item_id", "bill_bill_type", "bill_billing_entity", "bill_invoice_id",
    "bill_invoicing_entity", "bill_payer_account_id", "bill_payer_account_name",
    "line_item_usage_account_id", "line_item_usage_account_name", "line_item_line_item_type",
    "line_item_product_code", "line_item_usage_type", "line_item_currency_code",
    "line_item_resource_id", "line_item_availability_zone", "line_item_line_item_description",
    "line_item_tax_type", "product_region_code", "product_sku", "pricing_unit", "pricing_term",
    "savings_plan_savings_plan_a_r_n", "reservation_reservation_a_r_n",
)
PRODUCTS = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonRDS": "Amazon Relational Database Service",
    "AWSSupportBusiness": "AWS Support (Business)",
    "ComputeSavingsPlans": "Savings Plans for AWS Compute usage",
}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def row(kind: str, account: str, product: str, day: int, cost: str, *, month: str = "2026-10",
        net: str | None = None, tags: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    """One CUR 2.0 line item (money as decimal strings: the test's source of truth)."""
    y, m = (int(x) for x in month.split("-"))
    end_y, end_m = (y + 1, 1) if m == 12 else (y, m + 1)
    start = extra.pop("usage_start", f"{month}-{day:02d}T00:00:00")
    r: dict[str, Any] = {
        "identity_line_item_id": f"id-{kind}-{account}-{day}-{cost}",
        "bill_bill_type": "Anniversary", "bill_billing_entity": "AWS", "bill_invoice_id": "",
        "bill_invoicing_entity": "Amazon Web Services, Inc.", "bill_payer_account_id": PAYER,
        "bill_payer_account_name": "Acme Payer",
        "bill_billing_period_start_date": f"{y:04d}-{m:02d}-01T00:00:00",
        "bill_billing_period_end_date": f"{end_y:04d}-{end_m:02d}-01T00:00:00",
        "line_item_usage_account_id": account, "line_item_usage_account_name": f"acct {account}",
        "line_item_line_item_type": kind, "line_item_product_code": product,
        "line_item_usage_type": "USE1-BoxUsage:m5.large", "line_item_currency_code": "USD",
        "line_item_resource_id": "", "line_item_availability_zone": "",
        "line_item_line_item_description": f"{kind} of {product}", "line_item_tax_type": "",
        "line_item_usage_start_date": start,
        "line_item_usage_end_date": extra.pop("usage_end", f"{month}-{day:02d}T01:00:00"),
        "line_item_unblended_cost": cost, "line_item_net_unblended_cost": net,
        "line_item_usage_amount": "1", "pricing_public_on_demand_cost": cost,
        "product_region_code": "us-east-1", "product_sku": "SKU123", "pricing_unit": "Hrs",
        "pricing_term": "OnDemand", "savings_plan_savings_plan_a_r_n": "",
        "reservation_reservation_a_r_n": "", "savings_plan_savings_plan_effective_cost": None,
        "savings_plan_total_commitment_to_date": None, "savings_plan_used_commitment": None,
        "reservation_effective_cost": None,
        "resource_tags": {f"user:{k}": v for k, v in (tags or {}).items()},
        "product": {"product_name": PRODUCTS[product], "servicecode": product},
    }
    r.update(extra)
    return r


def month_rows(month: str = "2026-10", scale: str = "1") -> list[dict[str, Any]]:
    """Every line item type, two usage accounts, tags; ``scale`` changes amounts (restatement)."""
    k = Decimal(scale)

    def c(v: str) -> str:
        return str(Decimal(v) * k)

    sp = "arn:aws:savingsplans::999900001111:savingsplan/sp-1"
    ri = "arn:aws:ec2:us-east-1:111111111111:reserved-instances/ri-1"
    rows = []
    for day in (1, 2, 3):
        rows += [
            row("Usage", ACCT_A, "AmazonEC2", day, c("1.234567891234"),
                tags={"tenant": "acme", "team": "web"}, line_item_resource_id=f"i-000{day}",
                line_item_availability_zone="us-east-1a"),
            row("Usage", ACCT_B, "AmazonS3", day, c("0.5"), net=c("0.45"),
                tags={"tenant": "globex"}, pricing_unit="GB-Mo"),
            row("DiscountedUsage", ACCT_A, "AmazonEC2", day, "0", reservation_effective_cost=c("0.05"),
                reservation_reservation_a_r_n=ri, pricing_public_on_demand_cost=c("0.096")),
            row("SavingsPlanCoveredUsage", ACCT_B, "AmazonEC2", day, c("0.10"),
                savings_plan_savings_plan_effective_cost=c("0.07"),
                savings_plan_savings_plan_a_r_n=sp),
            row("SavingsPlanNegation", ACCT_B, "AmazonEC2", day, c("-0.10"),
                savings_plan_savings_plan_a_r_n=sp),
        ]
    rows += [
        row("SavingsPlanRecurringFee", PAYER, "ComputeSavingsPlans", 1, c("5.0"),
            savings_plan_total_commitment_to_date=c("5.0"),
            savings_plan_used_commitment=c("4.2"), savings_plan_savings_plan_a_r_n=sp),
        row("RIFee", ACCT_A, "AmazonEC2", 1, c("30.0"), reservation_reservation_a_r_n=ri,
            usage_end=f"{month}-01T00:00:00"),
        row("Fee", ACCT_A, "AWSSupportBusiness", 1, c("100"), bill_bill_type="Purchase"),
        row("Tax", ACCT_A, "AmazonEC2", 1, c("2.47"), line_item_tax_type="VAT",
            pricing_public_on_demand_cost=None),
        row("Credit", ACCT_B, "AmazonS3", 2, c("-5"), pricing_public_on_demand_cost=None,
            tags={"tenant": "globex"}),
        row("Refund", ACCT_A, "AmazonRDS", 3, c("-2.00"), bill_bill_type="Refund",
            pricing_public_on_demand_cost=None),
        row("EdpDiscount", ACCT_A, "AmazonEC2", 3, c("-1.5"), pricing_public_on_demand_cost=None),
    ]
    return rows


def _arrow(rows: list[dict[str, Any]]) -> pa.Table:
    data: dict[str, pa.Array] = {}
    for col in STRINGS:
        data[col] = pa.array([r[col] for r in rows], pa.string())
    for col in TIMES:
        data[col] = pa.array([datetime.fromisoformat(r[col]) for r in rows], pa.timestamp("ms"))
    for col in MONEY:  # CUR 2.0 Parquet writes money as double
        data[col] = pa.array([None if r[col] is None else float(r[col]) for r in rows],
                             pa.float64())
    mt = pa.map_(pa.string(), pa.string())
    data["resource_tags"] = pa.array([list(r["resource_tags"].items()) for r in rows], mt)
    data["product"] = pa.array([list(r["product"].items()) for r in rows], mt)
    return pa.table(data)


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(_arrow(rows), buf, compression="snappy", row_group_size=7)
    return buf.getvalue()


def csv_gz_bytes(rows: list[dict[str, Any]]) -> bytes:
    cols = [*STRINGS, *TIMES, *MONEY, "resource_tags", "product"]
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(cols)
    for r in rows:
        out = []
        for col in cols:
            v = r[col]
            if col in ("resource_tags", "product"):
                v = json.dumps(v) if v else ""
            elif col in TIMES:
                v = v + ".000Z"
            out.append("" if v is None else v)
        w.writerow(out)
    return gzip.compress(text.getvalue().encode(), mtime=0)


def put_export(s3: Any, bucket: str, prefix: str, export: str, month: str,
               files: list[tuple[str, bytes]], execution: str) -> str:
    """Upload data files, then the manifest listing them (AWS's order); return its key."""
    root = f"{prefix}/{export}" if prefix else export
    uris = []
    for name, body in files:
        key = f"{root}/data/BILLING_PERIOD={month}/{name}"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        uris.append(f"s3://{bucket}/{key}")
    manifest = {
        "executionId": execution, "reportName": export, "bucket": bucket,
        "billingPeriod": {"start": f"{month}-01T00:00:00.000Z"},
        "dataFiles": uris,
        "columns": [{"name": c, "type": "string"} for c in (*STRINGS, *TIMES, *MONEY)],
    }
    key = f"{root}/metadata/BILLING_PERIOD={month}/{export}-Manifest.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    return key


def expected_billed(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], Decimal]:
    """The source's own BilledCost per (usage account, service, day): net else unblended."""
    out: dict[tuple[str, str, str], Decimal] = {}
    for r in rows:
        amount = Decimal(r["line_item_net_unblended_cost"] or r["line_item_unblended_cost"])
        key = (r["line_item_usage_account_id"], r["product"]["product_name"],
               r["line_item_usage_start_date"][:10])
        out[key] = out.get(key, Decimal(0)) + amount
    return out
