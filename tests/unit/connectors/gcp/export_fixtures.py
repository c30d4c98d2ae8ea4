"""Cloud Billing export rows (detailed table schema) for the fake BigQuery server."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

TABLE = "billing-proj.billing.gcp_billing_export_resource_v1_0A0A0A_0B0B0B_0C0C0C"
ACCOUNT = "0A0A0A-0B0B0B-0C0C0C"


def _f(name: str, type_: str, mode: str = "NULLABLE", fields: list[Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": type_, "mode": mode}
    if fields:
        out["fields"] = fields
    return out


KV = [_f("key", "STRING"), _f("value", "STRING")]
SCHEMA: list[dict[str, Any]] = [
    _f("billing_account_id", "STRING"),
    _f("service", "RECORD", fields=[_f("id", "STRING"), _f("description", "STRING")]),
    _f("sku", "RECORD", fields=[_f("id", "STRING"), _f("description", "STRING")]),
    _f("usage_start_time", "TIMESTAMP"),
    _f("usage_end_time", "TIMESTAMP"),
    _f("project", "RECORD", fields=[
        _f("id", "STRING"), _f("number", "STRING"), _f("name", "STRING"),
        _f("labels", "RECORD", "REPEATED", KV), _f("ancestry_numbers", "STRING")]),
    _f("labels", "RECORD", "REPEATED", KV),
    _f("system_labels", "RECORD", "REPEATED", KV),
    _f("location", "RECORD", fields=[_f("location", "STRING"), _f("country", "STRING"),
                                     _f("region", "STRING"), _f("zone", "STRING")]),
    _f("tags", "RECORD", "REPEATED", [_f("key", "STRING"), _f("value", "STRING"),
                                      _f("inherited", "BOOLEAN"), _f("namespace", "STRING")]),
    _f("export_time", "TIMESTAMP"),
    _f("cost", "FLOAT"),
    _f("currency", "STRING"),
    _f("currency_conversion_rate", "FLOAT"),
    _f("usage", "RECORD", fields=[_f("amount", "FLOAT"), _f("unit", "STRING"),
                                  _f("amount_in_pricing_units", "FLOAT"),
                                  _f("pricing_unit", "STRING")]),
    _f("credits", "RECORD", "REPEATED", [_f("name", "STRING"), _f("amount", "FLOAT"),
                                         _f("full_name", "STRING"), _f("id", "STRING"),
                                         _f("type", "STRING")]),
    _f("invoice", "RECORD", fields=[_f("month", "STRING"), _f("publisher_type", "STRING")]),
    _f("cost_type", "STRING"),
    _f("adjustment_info", "RECORD", fields=[_f("id", "STRING"), _f("description", "STRING"),
                                            _f("mode", "STRING"), _f("type", "STRING")]),
    _f("cost_at_list", "FLOAT"),
    _f("resource", "RECORD", fields=[_f("name", "STRING"), _f("global_name", "STRING")]),
]
STANDARD_SCHEMA = [f for f in SCHEMA if f["name"] not in ("resource", "tags", "cost_at_list")]

SERVICES = {
    "compute": ("6F81-5844-456A", "Compute Engine", "CP-COMPUTEENGINE-VMIMAGE-N2", "N2 Instance Core"),
    "storage": ("95FF-2EF5-5EA1", "Cloud Storage", "E5F0-6A5D-7BAD", "Standard Storage US"),
    "bq": ("24E6-581D-38E5", "BigQuery", "3362-E469-6BEF", "Analysis"),
    "tax": ("B7D9-FDCB-15D8", "Invoice", "TAX-US", "Tax"),
}
PROJECTS = {
    "acme-prod": ("111", "Acme Production", [{"key": "tenant", "value": "acme"}]),
    "globex-web": ("222", "Globex Web", [{"key": "tenant", "value": "globex"},
                                        {"key": "env", "value": "prod"}]),
}


def row(service: str, project: str, day: int, cost: str, *, month: str = "202610",
        credits: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None,
        cost_type: str = "regular", resource: str | None = None, hour: int = 0,
        export_time: str | None = None, usage_start: str | None = None) -> dict[str, Any]:
    sid, sdesc, skuid, skudesc = SERVICES[service]
    num, pname, plabels = PROJECTS[project]
    y, m = month[:4], month[4:]
    start = usage_start or f"{y}-{m}-{day:02d}T{hour:02d}:00:00Z"
    end = f"{y}-{m}-{day:02d}T{hour:02d}:59:59Z" if usage_start is None else start
    return {
        "billing_account_id": ACCOUNT,
        "service": {"id": sid, "description": sdesc},
        "sku": {"id": skuid, "description": skudesc},
        "usage_start_time": start, "usage_end_time": end,
        "project": {"id": project, "number": num, "name": pname, "labels": plabels,
                    "ancestry_numbers": "/1234/"},
        "labels": [{"key": k, "value": v} for k, v in (labels or {}).items()],
        "system_labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1",
                     "zone": "us-central1-a" if service == "compute" else None},
        "tags": [{"key": "cost-center", "value": "cc-42", "inherited": True,
                  "namespace": "1234"}] if project == "acme-prod" else [],
        "export_time": export_time or f"{y}-{m}-{day:02d}T06:00:00Z",
        "cost": cost, "currency": "USD", "currency_conversion_rate": "1.0",
        "usage": {"amount": "3600", "unit": "seconds", "amount_in_pricing_units": "1",
                  "pricing_unit": "hour"},
        "credits": credits or [],
        "invoice": {"month": month, "publisher_type": "Google"},
        "cost_type": cost_type,
        "adjustment_info": None,
        "cost_at_list": cost,
        "resource": {"name": resource, "global_name": f"//compute.googleapis.com/{resource}"}
        if resource else None,
    }


def credit(kind: str, amount: str) -> dict[str, Any]:
    names = {"SUSTAINED_USAGE_DISCOUNT": "Sustained Usage Discount",
             "COMMITTED_USAGE_DISCOUNT": "Committed Usage Discount: CPU",
             "FREE_TIER": "Free Tier", "PROMOTION": "Free trial credit",
             "DISCOUNT": "Spending based discounts (contractual)"}
    return {"name": names[kind], "amount": amount, "full_name": names[kind],
            "id": f"{kind.lower()}-1", "type": kind}


def month_rows(month: str = "202610", scale: int = 1) -> list[dict[str, Any]]:
    k = Decimal(scale)

    def c(v: str) -> str:
        return str(Decimal(v) * k)

    rows = []
    for day in (1, 2, 3):
        for hour in (0, 1):
            rows.append(row("compute", "acme-prod", day, c("0.245678"), month=month, hour=hour,
                            labels={"team": "web", "tenant": "acme-web"},
                            resource="projects/acme-prod/instances/web-1",
                            credits=[credit("SUSTAINED_USAGE_DISCOUNT", c("-0.049136")),
                                     credit("COMMITTED_USAGE_DISCOUNT", c("-0.01"))]))
        rows.append(row("storage", "globex-web", day, c("0.012345"), month=month,
                        credits=[credit("FREE_TIER", c("-0.002"))]))
        rows.append(row("bq", "globex-web", day, c("1.5"), month=month,
                        credits=[credit("PROMOTION", c("-1.5"))]))
        rows.append(row("bq", "acme-prod", day, c("0.75"), month=month,
                        credits=[credit("DISCOUNT", c("-0.075"))]))
    rows.append(row("tax", "acme-prod", 3, c("0.33"), month=month, cost_type="tax"))
    rows.append(row("compute", "globex-web", 2, c("-0.4"), month=month, cost_type="adjustment"))
    rows.append(row("compute", "acme-prod", 1, c("0.02"), month=month, cost_type="rounding_error"))
    # late usage of the previous month invoiced now: an adjustment correcting a closed period
    rows.append(row("compute", "acme-prod", 1, c("-0.12"), month=month, cost_type="adjustment",
                    usage_start=f"{month[:4]}-{int(month[4:]) - 1:02d}-28T00:00:00Z"))
    return rows


def expected_net(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], Decimal]:
    """The export's own net cost per (project, service, day): cost + SUM(credits.amount)."""
    out: dict[tuple[str, str, str], Decimal] = {}
    for r in rows:
        net = Decimal(r["cost"]) + sum((Decimal(c["amount"]) for c in r["credits"]), Decimal(0))
        key = (r["project"]["id"], r["service"]["description"], r["usage_start_time"][:10])
        out[key] = out.get(key, Decimal(0)) + net
    return out
