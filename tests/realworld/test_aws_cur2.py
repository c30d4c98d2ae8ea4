"""CUR 2.0 (Data Exports) with cost categories and split cost allocation data.

Built column-for-column from the CUR 2.0 table dictionary
(https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html:
``resource_tags`` and ``cost_category`` are ``map<string,string>``; split
line item columns ``split_line_item_split_cost``,
``split_line_item_unused_cost``, ``split_line_item_parent_resource_id``).
Split rows carry no unblended cost of their own: the parent instance's row does.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.layout import partition_file
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.unit.connectors.aws import cur_fixtures as fx

OCT = Period(date(2026, 10, 1))
SPLIT = ("split_line_item_split_cost", "split_line_item_unused_cost",
         "split_line_item_parent_resource_id")


def month() -> list[dict[str, Any]]:
    rows = fx.month_rows()
    for i, r in enumerate(rows):
        r["cost_category"] = {"Team": ("platform", "data")[i % 2]} if i % 3 else {}
        r["split_line_item_split_cost"] = None
        r["split_line_item_unused_cost"] = None
        r["split_line_item_parent_resource_id"] = None
    for day in (1, 2):  # an ECS task's share of i-0001: no cost of its own
        rows.append(fx.row(
            "Usage", fx.ACCT_A, "AmazonEC2", day, "0", line_item_resource_id="arn:aws:ecs:task/t1",
            pricing_unit="vCPU-Hours", cost_category={},
            split_line_item_split_cost="0.7654321", split_line_item_unused_cost="0.1",
            split_line_item_parent_resource_id=f"i-000{day}"))
    return rows


def parquet(rows: list[dict[str, Any]]) -> bytes:
    table = fx._arrow(rows)
    mt = pa.map_(pa.string(), pa.string())
    table = table.append_column("cost_category", pa.array(
        [list(r["cost_category"].items()) for r in rows], mt))
    table = table.append_column(SPLIT[0], pa.array(
        [None if r[SPLIT[0]] is None else float(r[SPLIT[0]]) for r in rows], pa.float64()))
    table = table.append_column(SPLIT[1], pa.array(
        [None if r[SPLIT[1]] is None else float(r[SPLIT[1]]) for r in rows], pa.float64()))
    table = table.append_column(SPLIT[2], pa.array([r[SPLIT[2]] for r in rows], pa.string()))
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def csv_gz(rows: list[dict[str, Any]]) -> bytes:
    text = gzip.decompress(fx.csv_gz_bytes(rows)).decode().splitlines()
    out = [text[0] + ",cost_category," + ",".join(SPLIT)]
    for line, r in zip(text[1:], rows, strict=True):
        cat = json.dumps(r["cost_category"]).replace('"', '""') if r["cost_category"] else ""
        extra = ["" if r[c] is None else r[c] for c in SPLIT]
        out.append(line + f',"{cat}",' + ",".join(extra))
    return gzip.compress(("\n".join(out) + "\n").encode(), mtime=0)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_cur2_categories_and_split_columns(s3: Any, tmp_path: Path, fmt: str) -> None:
    rows = month()
    body, name = (parquet(rows), "x.snappy.parquet") if fmt == "parquet" else (
        csv_gz(rows), "x.csv.gz")
    fx.put_export(s3, "acme-cur", "", "rebill", "2026-10", [(name, body)], "e1")
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 3))
    conn = build("aws", {"type": "aws_cur", "bucket": "acme-cur", "export_name": "rebill"}, ctx)
    home = tmp_path / "home"
    assert load_partition(home, conn, OCT).rows == len(rows)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    lake = con.sql(
        "SELECT SubAccountId AS a, strftime(ChargePeriodStart, '%Y-%m-%d') AS d, BilledCost, "
        "x_CostCategories, x_SplitCost, x_SplitUnusedCost, x_SplitParentResourceId, ResourceId, "
        f"PricingUnit, x_PricingUnitOriginal FROM read_parquet('{partition_file(home, 'aws', '2026-10')}')"
    ).to_arrow_table().to_pylist()
    want = fx.expected_billed(rows)
    got: dict[tuple[str, str, str], Decimal] = {}
    by_ad: dict[tuple[str, str], Decimal] = {}
    for (a, _s, d), v in want.items():
        by_ad[(a, d)] = by_ad.get((a, d), Decimal(0)) + v
    for r in lake:
        got[(r["a"], "", r["d"])] = got.get((r["a"], "", r["d"]), Decimal(0)) + r["BilledCost"]
    assert {(a, d): v for (a, _, d), v in got.items()} == by_ad
    cats = sorted(json.dumps(dict(r["x_CostCategories"] or {})) for r in lake)
    assert cats == sorted(json.dumps(r["cost_category"]) for r in rows)
    split = [r for r in lake if r["ResourceId"] == "arn:aws:ecs:task/t1"]
    assert [(r["x_SplitCost"], r["x_SplitUnusedCost"], r["x_SplitParentResourceId"])
            for r in sorted(split, key=lambda r: r["d"])] == [
        (Decimal("0.7654321"), Decimal("0.1"), "i-0001"),
        (Decimal("0.7654321"), Decimal("0.1"), "i-0002")]
    assert {r["BilledCost"] for r in split} == {Decimal(0)}
    units = {(r["PricingUnit"], r["x_PricingUnitOriginal"]) for r in lake if r["PricingUnit"]}
    assert ("Hours", "Hrs") in units and ("GB-Months", "GB-Mo") in units
    assert ("vCPU-Hours", None) in units
