"""Generate the bundled AWS and GCP sample exports (deterministic: same bytes every run).

    .venv/bin/python data/samples/generate_cloud.py

* ``aws/cur/`` mirrors an S3 bucket holding a CUR 2.0 (Data Exports) export
  ``rebill`` under prefix ``exports/cur2`` for October 2026: two Parquet data
  files and the manifest listing them, exactly where AWS writes them.
* ``gcp/`` holds a Cloud Billing detailed export for invoice month 202610:
  ``schema.json`` (the BigQuery table schema) and ``export_202610.jsonl``
  (one row per line, as ``bq extract --destination_format
  NEWLINE_DELIMITED_JSON`` writes it).

The data is synthetic but shaped like real bills: three tenants tagged
``tenant=acme|globex|initech`` across two AWS linked accounts and three GCP
projects, daily usage with some untagged rows, Savings Plan and Reserved
Instance coverage, a support fee, tax, credits, an EDP discount, GCP
sustained-use/committed-use/free-tier credits, tax and an adjustment.
"""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
YEAR, MONTH = 2026, 10
DAYS = 31
Q = Decimal("0.0000000001")


def _money(rng: random.Random, lo: float, hi: float) -> Decimal:
    return Decimal(str(round(rng.uniform(lo, hi), 6)))


# ---------------------------------------------------------------- AWS CUR 2.0
PAYER = "123456789012"
ACCOUNTS = {"210987654321": "acme-prod", "345678901234": "shared-platform"}
AWS_PRODUCTS = [  # code, name, usage type, unit, rate, tenant tags
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:m5.large", "Hrs", "0.096"),
    ("AmazonS3", "Amazon Simple Storage Service", "USE1-TimedStorage-ByteHrs", "GB-Mo", "0.023"),
    ("AmazonRDS", "Amazon Relational Database Service", "USE1-InstanceUsage:db.t3.medium",
     "Hrs", "0.068"),
    ("AWSELB", "Elastic Load Balancing", "USE1-LoadBalancerUsage", "Hrs", "0.0225"),
    ("AWSLambda", "AWS Lambda", "USE1-Lambda-GB-Second", "Lambda-GB-Second", "0.0000166667"),
]
TENANTS = ["acme", "globex", "initech"]
STR = ["identity_line_item_id", "identity_time_interval", "bill_bill_type",
       "bill_billing_entity", "bill_invoice_id", "bill_invoicing_entity",
       "bill_payer_account_id", "bill_payer_account_name", "line_item_usage_account_id",
       "line_item_usage_account_name", "line_item_line_item_type", "line_item_product_code",
       "line_item_usage_type", "line_item_operation", "line_item_currency_code",
       "line_item_resource_id", "line_item_availability_zone",
       "line_item_line_item_description", "line_item_tax_type", "line_item_legal_entity",
       "product_region_code", "product_location", "product_sku", "pricing_unit", "pricing_term",
       "savings_plan_savings_plan_a_r_n", "reservation_reservation_a_r_n"]
TS = ["bill_billing_period_start_date", "bill_billing_period_end_date",
      "line_item_usage_start_date", "line_item_usage_end_date"]
DBL = ["line_item_usage_amount", "line_item_unblended_rate", "line_item_unblended_cost",
       "line_item_net_unblended_cost", "pricing_public_on_demand_cost",
       "savings_plan_savings_plan_effective_cost", "savings_plan_total_commitment_to_date",
       "savings_plan_used_commitment", "reservation_effective_cost"]


def _cur_row(n: int, kind: str, account: str, product: tuple[str, ...], day: int,
             cost: Decimal, **extra: object) -> dict[str, object]:
    code, name, usage_type, unit, rate = product
    start = datetime(YEAR, MONTH, day)
    row: dict[str, object] = {c: None for c in (*STR, *TS, *DBL)}
    row.update({
        "identity_line_item_id": f"li{n:07d}",
        "identity_time_interval": f"{start:%Y-%m-%dT00:00:00Z}/"
                                  f"{start + timedelta(days=1):%Y-%m-%dT00:00:00Z}",
        "bill_bill_type": "Anniversary", "bill_billing_entity": "AWS", "bill_invoice_id": "",
        "bill_invoicing_entity": "Amazon Web Services, Inc.", "bill_payer_account_id": PAYER,
        "bill_payer_account_name": "Example MSP Payer",
        "line_item_usage_account_id": account, "line_item_usage_account_name": ACCOUNTS.get(
            account, "payer"),
        "line_item_line_item_type": kind, "line_item_product_code": code,
        "line_item_usage_type": usage_type, "line_item_operation": "RunInstances",
        "line_item_currency_code": "USD", "line_item_resource_id": "",
        "line_item_availability_zone": "", "line_item_tax_type": "",
        "line_item_legal_entity": "Amazon Web Services, Inc.",
        "line_item_line_item_description": f"{name} {usage_type}",
        "product_region_code": "us-east-1", "product_location": "US East (N. Virginia)",
        "product_sku": "SKU" + "".join(str(ord(c) % 10) for c in usage_type[:8]),
        "pricing_unit": unit, "pricing_term": "OnDemand",
        "savings_plan_savings_plan_a_r_n": "", "reservation_reservation_a_r_n": "",
        "bill_billing_period_start_date": datetime(YEAR, MONTH, 1),
        "bill_billing_period_end_date": datetime(YEAR + MONTH // 12, MONTH % 12 + 1, 1),
        "line_item_usage_start_date": start, "line_item_usage_end_date": start + timedelta(days=1),
        "line_item_unblended_cost": cost, "line_item_unblended_rate": Decimal(rate),
        "pricing_public_on_demand_cost": cost,
        "line_item_usage_amount": (cost / Decimal(rate)).quantize(Q) if Decimal(rate) else None,
        "_tags": {}, "_product": {"product_name": name, "servicecode": code},
    })
    row.update(extra)
    return row


def aws_rows() -> list[dict[str, object]]:
    rng = random.Random(20261001)
    rows: list[dict[str, object]] = []
    sp = f"arn:aws:savingsplans::{PAYER}:savingsplan/5f1e0c0a-demo"
    ri = "arn:aws:rds:us-east-1:210987654321:ri:demo-db-ri"
    for day in range(1, DAYS + 1):
        for account in ACCOUNTS:
            for product in AWS_PRODUCTS:
                for tenant in TENANTS:
                    if account == "210987654321" and tenant != "acme":
                        continue
                    cost = _money(rng, 0.4, 9.0)
                    tags = {"user:tenant": tenant, "user:env": rng.choice(["prod", "staging"])}
                    resource = f"i-{rng.getrandbits(40):010x}" if product[0] == "AmazonEC2" else ""
                    rows.append(_cur_row(len(rows), "Usage", account, product, day, cost,
                                         _tags=tags, line_item_resource_id=resource,
                                         line_item_availability_zone="us-east-1a"))
            # untagged shared infrastructure
            rows.append(_cur_row(len(rows), "Usage", account, AWS_PRODUCTS[3], day,
                                 _money(rng, 0.2, 1.5)))
        # compute covered by the Savings Plan, negated, and RDS covered by an RI
        covered = _money(rng, 2.0, 4.0)
        rows.append(_cur_row(len(rows), "SavingsPlanCoveredUsage", "345678901234",
                             AWS_PRODUCTS[0], day, covered, _tags={"user:tenant": "globex"},
                             savings_plan_savings_plan_a_r_n=sp,
                             savings_plan_savings_plan_effective_cost=(covered * Decimal("0.72"))
                             .quantize(Q)))
        rows.append(_cur_row(len(rows), "SavingsPlanNegation", "345678901234", AWS_PRODUCTS[0],
                             day, -covered, savings_plan_savings_plan_a_r_n=sp,
                             _tags={"user:tenant": "globex"}, pricing_public_on_demand_cost=0))
        rows.append(_cur_row(len(rows), "DiscountedUsage", "210987654321", AWS_PRODUCTS[2], day,
                             Decimal(0), _tags={"user:tenant": "acme"},
                             reservation_reservation_a_r_n=ri,
                             pricing_public_on_demand_cost=Decimal("1.632"),
                             reservation_effective_cost=Decimal("1.0368")))
    support = ("AWSSupportBusiness", "AWS Support (Business)", "USE1-Dollar", "Dollar", "1")
    sp_fee = ("ComputeSavingsPlans", "Savings Plans for AWS Compute usage",
              "ComputeSP:1yrNoUpfront", "Hrs", "1")
    rows += [
        _cur_row(len(rows), "SavingsPlanRecurringFee", PAYER, sp_fee, 1, Decimal("96.72"),
                 savings_plan_savings_plan_a_r_n=sp,
                 savings_plan_total_commitment_to_date=Decimal("96.72"),
                 savings_plan_used_commitment=Decimal("89.4")),
        _cur_row(len(rows) + 1, "RIFee", "210987654321", AWS_PRODUCTS[2], 1, Decimal("31.10"),
                 reservation_reservation_a_r_n=ri),
        _cur_row(len(rows) + 2, "Fee", PAYER, support, 1, Decimal("100.00"),
                 bill_bill_type="Anniversary", line_item_line_item_description="Business support"),
        _cur_row(len(rows) + 3, "Credit", "345678901234", AWS_PRODUCTS[0], 15, Decimal("-25.00"),
                 line_item_line_item_description="AWS Activate credit",
                 pricing_public_on_demand_cost=None),
        _cur_row(len(rows) + 4, "EdpDiscount", "345678901234", AWS_PRODUCTS[0], 31,
                 Decimal("-12.34"), line_item_line_item_description="EDP discount",
                 pricing_public_on_demand_cost=None),
        _cur_row(len(rows) + 5, "Tax", "210987654321", AWS_PRODUCTS[0], 1, Decimal("18.20"),
                 line_item_tax_type="Sales Tax", line_item_line_item_description="Sales tax",
                 pricing_public_on_demand_cost=None),
    ]
    return rows


def _cur_table(rows: list[dict[str, object]]) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    for c in STR:
        cols[c] = pa.array([r[c] for r in rows], pa.string())
    for c in TS:
        cols[c] = pa.array([r[c] for r in rows], pa.timestamp("ms"))
    for c in DBL:  # CUR 2.0 Parquet writes amounts as double
        cols[c] = pa.array([None if r[c] is None else float(r[c]) for r in rows], pa.float64())
    m = pa.map_(pa.string(), pa.string())
    cols["resource_tags"] = pa.array([sorted(r["_tags"].items()) for r in rows], m)
    cols["product"] = pa.array([sorted(r["_product"].items()) for r in rows], m)
    return pa.table(cols)


def write_aws(root: Path) -> None:
    rows = aws_rows()
    base = "exports/cur2/rebill"
    label = f"{YEAR:04d}-{MONTH:02d}"
    data_dir = root / base / "data" / f"BILLING_PERIOD={label}"
    meta_dir = root / base / "metadata" / f"BILLING_PERIOD={label}"
    data_dir.mkdir(parents=True, exist_ok=True)
    meta_dir.mkdir(parents=True, exist_ok=True)
    half = len(rows) // 2
    files = []
    for i, chunk in enumerate((rows[:half], rows[half:]), start=1):
        name = f"rebill-{i:05d}.snappy.parquet"
        buf = io.BytesIO()
        pq.write_table(_cur_table(chunk), buf, compression="snappy", row_group_size=1000)
        (data_dir / name).write_bytes(buf.getvalue())
        files.append(f"s3://acme-cur/{base}/data/BILLING_PERIOD={label}/{name}")
    table = _cur_table(rows[:1])
    manifest = {
        "executionId": "00000000-demo-0000-0000-202610000001",
        "reportName": "rebill", "bucket": "acme-cur",
        "billingPeriod": {"start": f"{label}-01T00:00:00.000Z",
                          "end": f"{YEAR:04d}-{MONTH + 1:02d}-01T00:00:00.000Z"},
        "dataFiles": files,
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
    }
    (meta_dir / "rebill-Manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


# ---------------------------------------------------------------- GCP export
GCP_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
PROJECTS = {
    "acme-analytics": ("100000000001", "Acme Analytics", "acme"),
    "globex-web": ("100000000002", "Globex Web", "globex"),
    "shared-ops": ("100000000003", "Shared Ops", None),
}
GCP_SERVICES = [  # service id, name, sku id, sku, unit, pricing unit, price
    ("6F81-5844-456A", "Compute Engine", "CP-N2-CORE", "N2 Instance Core running in Americas",
     "seconds", "hour", "0.031611"),
    ("95FF-2EF5-5EA1", "Cloud Storage", "E5F0-6A5D-7BAD", "Standard Storage US Multi-region",
     "byte-seconds", "gibibyte month", "0.026"),
    ("24E6-581D-38E5", "BigQuery", "3362-E469-6BEF", "Analysis", "bytes", "tebibyte", "6.25"),
    ("9662-B51E-5089", "Cloud SQL", "D5A5-8F1C-0F0A", "DB custom CORE running in Americas",
     "seconds", "hour", "0.0413"),
]


def _gcp_row(rng: random.Random, project: str, svc: tuple[str, ...], day: int,
             cost: Decimal, credits: list[dict[str, object]], cost_type: str = "regular",
             resource: str | None = None) -> dict[str, object]:
    sid, sname, skuid, sku, unit, punit, price = svc
    num, pname, tenant = PROJECTS[project]
    start = datetime(YEAR, MONTH, day, rng.randrange(24), tzinfo=UTC)
    labels = [{"key": "app", "value": rng.choice(["api", "etl", "web"])}]
    return {
        "billing_account_id": GCP_ACCOUNT,
        "service": {"id": sid, "description": sname},
        "sku": {"id": skuid, "description": sku},
        "usage_start_time": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "usage_end_time": f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}",
        "project": {"id": project, "number": num, "name": pname,
                    "labels": [{"key": "tenant", "value": tenant}] if tenant else [],
                    "ancestry_numbers": "/123456789/"},
        "labels": labels, "system_labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1",
                     "zone": "us-central1-b" if sname == "Compute Engine" else None},
        "tags": [], "export_time": f"{start + timedelta(hours=5):%Y-%m-%dT%H:%M:%SZ}",
        "cost": str(cost), "currency": "USD", "currency_conversion_rate": "1.0",
        "usage": {"amount": str((cost / Decimal(price) * 3600).quantize(Decimal("0.001"))),
                  "unit": unit,
                  "amount_in_pricing_units": str((cost / Decimal(price)).quantize(
                      Decimal("0.000001"))), "pricing_unit": punit},
        "credits": credits, "invoice": {"month": f"{YEAR:04d}{MONTH:02d}",
                                        "publisher_type": "Google"},
        "cost_type": cost_type, "adjustment_info": None, "cost_at_list": str(cost),
        "resource": {"name": resource, "global_name": f"//compute.googleapis.com/{resource}"}
        if resource else None,
    }


def gcp_rows() -> list[dict[str, object]]:
    rng = random.Random(20261002)
    rows = []
    for day in range(1, DAYS + 1):
        for project in PROJECTS:
            for svc in GCP_SERVICES:
                for _ in range(3):
                    cost = _money(rng, 0.05, 4.0)
                    credits: list[dict[str, object]] = []
                    resource = None
                    if svc[1] == "Compute Engine":
                        resource = f"projects/{project}/zones/us-central1-b/instances/vm-{rng.randrange(4)}"
                        credits.append({"name": "Sustained Usage Discount",
                                        "amount": str(-(cost * Decimal("0.2")).quantize(
                                            Decimal("0.000001"))),
                                        "full_name": "Sustained Usage Discount",
                                        "id": "SUD", "type": "SUSTAINED_USAGE_DISCOUNT"})
                    if svc[1] == "Cloud Storage" and day == 1:
                        credits.append({"name": "FreeTier", "amount": "-0.05",
                                        "full_name": "Free Tier", "id": "FT",
                                        "type": "FREE_TIER"})
                    rows.append(_gcp_row(rng, project, svc, day, cost, credits,
                                         resource=resource))
    tax = ("B7D9-FDCB-15D8", "Invoice", "TAX", "Tax", "", "", "1")
    rows.append({**_gcp_row(rng, "shared-ops", tax, DAYS, Decimal("21.40"), [], "tax"),
                 "usage": None})
    rows.append({**_gcp_row(rng, "globex-web", GCP_SERVICES[2], 12, Decimal("-3.10"), [],
                            "adjustment"), "usage": None})
    return rows


FLOATS = {"cost", "amount", "amount_in_pricing_units", "cost_at_list",
          "currency_conversion_rate"}


def _numbers(value: object, key: str = "") -> object:
    """FLOAT64 fields as JSON numbers, like ``bq extract`` writes them."""
    if isinstance(value, dict):
        return {k: _numbers(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if key in FLOATS and isinstance(value, str):
        return float(value)
    return value


def write_gcp(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    schema_src = HERE / "gcp" / "schema.json"
    if not schema_src.exists():
        raise SystemExit(f"{schema_src} missing: it is hand-written, restore it from git")
    with (root / f"export_{YEAR:04d}{MONTH:02d}.jsonl").open("w", encoding="utf-8") as out:
        for row in gcp_rows():
            out.write(json.dumps(_numbers(row), sort_keys=True) + "\n")


if __name__ == "__main__":
    write_aws(HERE / "aws" / "cur")
    write_gcp(HERE / "gcp")
    print(f"wrote {HERE / 'aws'} and {HERE / 'gcp'}")
