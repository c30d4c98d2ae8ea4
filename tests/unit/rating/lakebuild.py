"""Build tiny canonical lake partitions and configs for rating tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rebill.config import Config, parse_config
from rebill.layout import partition_file
from rebill.normalize.catalog import connect
from rebill.periods import Period
from rebill.rating import rate_period
from rebill.rating.engine import RateResult
from rebill.schema import ARROW_SCHEMA


def row(day: str, cost: str, **over: Any) -> dict[str, Any]:
    """One canonical row on ``day`` (YYYY-MM-DD) costing ``cost`` USD; override any column."""
    d = date.fromisoformat(day)
    p = Period.of(d)
    start = datetime(d.year, d.month, d.day, tzinfo=UTC)
    base: dict[str, Any] = {c: None for c in ARROW_SCHEMA.names}
    base.update({
        "BilledCost": Decimal(cost), "EffectiveCost": Decimal(cost), "ListCost": Decimal(cost),
        "ContractedCost": Decimal(cost), "BillingAccountId": "payer",
        "BillingCurrency": "USD", "BillingPeriodStart": p.start_ts,
        "BillingPeriodEnd": p.end_ts, "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": start, "ChargePeriodEnd": start + timedelta(hours=1),
        "InvoiceIssuerName": "AWS", "PricingQuantity": Decimal(1), "PricingUnit": "Hours",
        "ProviderName": "AWS", "PublisherName": "AWS", "ServiceCategory": "Compute",
        "ServiceName": "Amazon EC2", "SubAccountId": "acct", "RegionId": "us-east-1",
        "Tags": [], "x_source": "src",
    })
    base.update(over)
    if isinstance(base["Tags"], dict):
        base["Tags"] = list(base["Tags"].items())
    for k in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        if isinstance(base[k], str):
            base[k] = Decimal(base[k])
    return base


def write_lake(home: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` as lake partitions, one per (x_source, billing period)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        label = Period.of(r["BillingPeriodStart"].date()).label
        groups.setdefault((r["x_source"], label), []).append(dict(r))
    for (source, label), items in groups.items():
        for i, r in enumerate(items, start=1):
            r["x_row_id"] = r.get("x_row_id") or f"r{i:06d}"
            r["x_load_id"] = "load"
        path = partition_file(home, source, label)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(items, schema=ARROW_SCHEMA), path)


def make_config(tmp_path: Path, data: dict[str, Any]) -> Config:
    data = dict(data)
    data.setdefault("rebill", {})
    data["rebill"] = {"home": str(tmp_path / "home"), **data["rebill"]}
    return parse_config(data, "test.toml", tmp_path)


def rate(
    tmp_path: Path, rows: Sequence[dict[str, Any]], data: dict[str, Any],
    period: str = "2026-10", **kwargs: Any,
) -> RateResult:
    cfg = make_config(tmp_path, data)
    write_lake(cfg.home, rows)
    return rate_period(cfg, Period.parse(period), **kwargs)


def lines_of(result: RateResult, tenant: str) -> list[tuple[str, str, Decimal]]:
    """(kind, description, amount) of one tenant's invoice, in line_no order."""
    return [(ln.kind, ln.description, ln.amount) for ln in result.lines if ln.tenant_id == tenant]


def rated_costs(result: RateResult) -> list[dict[str, Any]]:
    """The period's ``rated_costs`` rows as the catalog view computes them."""
    home = result.directory.parent.parent
    con = connect(home)
    try:
        return con.sql(
            "SELECT * FROM rated_costs WHERE period = $1 ORDER BY tenant_id, x_source, x_row_id",
            params=[result.period.label],
        ).to_arrow_table().to_pylist()
    finally:
        con.close()


def shares(result: RateResult) -> dict[str, Decimal]:
    """tenant_id -> cost of its shared rows (read back from the rated_costs view)."""
    out: dict[str, Decimal] = {}
    for r in rated_costs(result):
        if r["kind"] == "shared":
            out[r["tenant_id"]] = out.get(r["tenant_id"], Decimal(0)) + r["cost"]
    return out


def unallocated(result: RateResult) -> list[dict[str, Any]]:
    return pq.read_table(result.directory / "unallocated.parquet").to_pylist()


def tenant(tid: str, *match: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {"id": tid, "match": list(match), **over}
