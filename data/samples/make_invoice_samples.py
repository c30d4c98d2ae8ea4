"""Regenerate the bundled DigitalOcean and Linode sample API answers.

Run from the repo root: ``python data/samples/make_invoice_samples.py``. The
output is deterministic. Amounts follow each provider's rules: hourly price
× hours (whole hours, rounded up), capped at the monthly price, in USD.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
CENT = Decimal("0.01")


def money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def month_bounds(label: str) -> tuple[datetime, datetime]:
    y, m = map(int, label.split("-"))
    start = datetime(y, m, 1, tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def hourly(monthly: str, hourly_price: str, start: datetime, end: datetime) -> tuple[Decimal, int]:
    hours = math.ceil((end - start).total_seconds() / 3600)
    return min(money(Decimal(hourly_price) * hours), Decimal(monthly)), hours


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


DO_RESOURCES = [
    # product, description, group, monthly, hourly, project, created
    ("Droplets", "web-01 (s-2vcpu-4gb)", "Droplets", "24.00", "0.03571", "acme-prod", None),
    ("Droplets", "web-02 (s-2vcpu-4gb)", "Droplets", "24.00", "0.03571", "acme-prod", None),
    ("Droplets", "worker-01 (s-1vcpu-1gb)", "Droplets", "6.00", "0.00893", "globex-web",
     "2026-10-14T13:27:00"),
    ("Droplet Backups", "web-01 (s-2vcpu-4gb)", "Droplet Backups", "4.80", "0.00714",
     "acme-prod", None),
    ("Volumes", "pgdata (100 GiB)", "Volumes", "10.00", "0.01488", "acme-prod", None),
    ("Load Balancers", "lb-nyc3 (small)", "Load Balancers", "12.00", "0.01786", "acme-prod",
     None),
    ("Managed Databases", "db-postgresql-nyc3 (db-s-1vcpu-1gb)", "Managed Databases", "15.00",
     "0.02232", "globex-web", None),
    ("Spaces Subscription", "Spaces (250 GiB, 1 TiB transfer)", "Spaces", "5.00", "0.00744",
     "globex-web", None),
    ("Kubernetes Clusters", "k8s-nyc3 node pool (s-2vcpu-4gb)", "Kubernetes", "24.00",
     "0.03571", "globex-web", "2026-09-03T09:05:00"),
]


def do_items(label: str, until: datetime | None) -> list[dict[str, str]]:
    start, end = month_bounds(label)
    end = until or end
    items = []
    for n, (product, desc, group, monthly, hourly_price, project, created) in enumerate(
            DO_RESOURCES):
        s = start
        if created:
            c = datetime.fromisoformat(created).replace(tzinfo=UTC)
            if c >= end:
                continue
            s = max(start, c)
        amount, hours = hourly(monthly, hourly_price, s, end)
        items.append({
            "product": product, "resource_uuid": f"5b2f{n:04d}-6c1a-4e8b-9a0f-{n:012d}",
            "resource_id": str(301000000 + n), "group_description": group,
            "description": desc, "amount": f"{amount:.2f}", "duration": str(hours),
            "duration_unit": "Hours", "start_time": iso(s), "end_time": iso(end),
            "project_name": project,
        })
    items.append({
        "product": "Bandwidth", "resource_uuid": "", "resource_id": "",
        "group_description": "Outbound transfer overage", "description": "Bandwidth (37 GiB)",
        "amount": "0.37", "duration": "", "duration_unit": "", "start_time": iso(start),
        "end_time": iso(end), "project_name": "",
    })
    return items


def digitalocean() -> dict[str, object]:
    closed = {"2026-09": ("0b5d8a3e-7f5c-4c1e-9a61-2a1f2b3c4d01", "1203456701"),
              "2026-10": ("0b5d8a3e-7f5c-4c1e-9a61-2a1f2b3c4d02", "1203456702")}
    invoices = []
    items: dict[str, list[dict[str, str]]] = {}
    for label, (uuid, inv_id) in sorted(closed.items(), reverse=True):
        its = do_items(label, None)
        items[uuid] = its
        total = sum(Decimal(i["amount"]) for i in its)
        invoices.append({"invoice_uuid": uuid, "invoice_id": inv_id, "amount": f"{total:.2f}",
                         "invoice_period": label,
                         "updated_at": iso(month_bounds(label)[1] + timedelta(hours=8))})
    preview = do_items("2026-11", datetime(2026, 11, 20, tzinfo=UTC))
    items["preview"] = preview
    return {
        "account": {"uuid": "b6fa89f3-5f7f-4a47-a2d4-0d3e5c8a1b2c", "email": "ops@msp.example",
                    "status": "active", "team": {"uuid": "3f7c9d1e-8a2b-4c5d-9e0f-1a2b3c4d5e6f",
                                                 "name": "MSP Ops"}},
        "invoices": invoices,
        "invoice_preview": {"invoice_uuid": "preview", "invoice_id": "",
                            "amount": f"{sum(Decimal(i['amount']) for i in preview):.2f}",
                            "invoice_period": "2026-11", "updated_at": "2026-11-20T06:31:50Z"},
        "invoice_items": items,
    }


LINODE_RESOURCES = [
    # label, monthly, hourly, region, created, type
    ("Linode 4GB - web1 (40212345)", "24.00", "0.036", "us-east", None),
    ("Linode 8GB - db1 (40212346)", "48.00", "0.072", "us-east", None),
    ("Backup Service - Linode 4GB - web1 (40212345)", "5.00", "0.0075", "us-east", None),
    ("Nanode 1GB - ci-runner (40299871)", "5.00", "0.0075", "eu-central",
     "2026-10-09T17:41:00"),
    ("NodeBalancer - nb-prod (55123)", "10.00", "0.015", "us-east", None),
    ("Block Storage Volume - pgdata (880123)", "10.00", "0.015", "us-east", None),
]
TAX_RATE = Decimal("0.08875")


def linode() -> dict[str, object]:
    invoices, items = [], {}
    for inv_id, label in ((31415901, "2026-09"), (31415902, "2026-10")):
        start, end = month_bounds(label)
        its = []
        for text, monthly, hp, region, created in LINODE_RESOURCES:
            s = start
            if created:
                c = datetime.fromisoformat(created).replace(tzinfo=UTC)
                if c >= end:
                    continue
                s = c
            amount, hours = hourly(monthly, hp, s, end)
            tax = money(amount * TAX_RATE)
            its.append({"label": text, "amount": float(amount), "tax": float(tax),
                        "total": float(amount + tax), "from": s.strftime("%Y-%m-%dT%H:%M:%S"),
                        "to": (end - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                        "type": "hourly", "unit_price": hp, "quantity": hours,
                        "region": region})
        its.append({"label": "Network Transfer overage (12 GB)", "amount": 0.12, "tax": 0.01,
                    "total": 0.13, "from": start.strftime("%Y-%m-%dT%H:%M:%S"),
                    "to": (end - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                    "type": "misc", "unit_price": "0.01", "quantity": 12, "region": None})
        items[str(inv_id)] = its
        sub = sum(Decimal(repr(i["amount"])) for i in its)
        tax = sum(Decimal(repr(i["tax"])) for i in its)
        invoices.append({"id": inv_id, "label": "Invoice",
                         "date": (end + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S"),
                         "subtotal": float(sub), "tax": float(tax), "total": float(sub + tax),
                         "billing_source": "linode", "tax_summary": [
                             {"tax": float(tax), "name": "NY STATE SALES TAX"}]})
    return {
        "account": {"email": "ops@msp.example", "company": "MSP Ops LLC",
                    "euuid": "E1AF5EEC-526F-487D-B317EBEB34C87D71", "balance": 0,
                    "balance_uninvoiced": 41.37, "active_since": "2025-03-02T10:00:00",
                    "country": "US", "capabilities": []},
        "invoices": sorted(invoices, key=lambda i: -int(str(i["id"]))),
        "invoice_items": items,
    }


def main() -> None:
    for name, data in (("digitalocean", digitalocean()), ("linode", linode())):
        path = HERE / name / "api.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
