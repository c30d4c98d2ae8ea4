"""Legacy CUR as AWS delivers it: GZIP, ZIP, Parquet; S3 (moto) and a local copy.

Every variant must land every row with sums exact per account and day, tags
intact (``user:`` dropped) and RegionId from ``product/regionCode``, else
``product/region``. Expected values are computed here from the source rows.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.errors import DataContractError, FatalConnectorError
from rebill.layout import partition_file
from rebill.normalize.lake import load_partition
from rebill.normalize.loads import read_loads
from rebill.periods import Period
from tests.realworld import curlegacy as cl

NOV = Period(date(2023, 11, 1))


def connector(tmp_path: Path, store: Any, prefix: str) -> Any:
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2023, 12, 3))
    where = {"path": str(store)} if isinstance(store, Path) else {"bucket": "acme-cur"}
    return build("aws", {"type": "aws_cur", "prefix": prefix, "export_name": "rebill",
                         "layout": "legacy", **where}, ctx)


def lake_rows(home: Path) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    path = partition_file(home, "aws", NOV.label)
    return con.sql(f"SELECT SubAccountId, strftime(ChargePeriodStart, '%Y-%m-%d') AS day, "
                   f"BilledCost, Tags, RegionId, x_CostCategories FROM read_parquet('{path}')"
                   ).to_arrow_table().to_pylist()


def by_account_day(lake: list[dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for r in lake:
        key = (r["SubAccountId"], r["day"])
        out[key] = out.get(key, Decimal(0)) + r["BilledCost"]
    return out


def detail(tags: Any, region: str | None, account: str, cost: Decimal) -> tuple[Any, ...]:
    return (account, json.dumps(dict(tags or {}), sort_keys=True), region or "", cost)


def expected_detail(data: list[dict[str, str]], tag_keys: dict[str, str] | None = None
                    ) -> list[tuple[Any, ...]]:
    out = []
    for r in data:
        tags = cl.expected_tags(r) or {}
        if tag_keys is not None:
            tags = {tag_keys[k]: v for k, v in tags.items()}
        region = r.get("product/regionCode") or r["product/region"] or None
        out.append(detail(tags, region, r["lineItem/UsageAccountId"],
                          Decimal(r["lineItem/UnblendedCost"])))
    return sorted(out)


def got_detail(lake: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(detail(r["Tags"], r["RegionId"], r["SubAccountId"], r["BilledCost"])
                  for r in lake)


# Parquet column names carry the key lower-cased, other characters as "_".
PARQUET_KEYS = {"tenant": "tenant", "Cost Center": "cost_center", "aws:createdBy": "aws:created_by"}


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return tmp_path / "bucket-copy"
    return request.getfixturevalue("s3")


@pytest.mark.parametrize(("fmt", "prefix"), [
    ("gzip", "cur"), ("zip", "cur"), ("parquet", "cur"), ("gzip", ""), ("zip", ""),
    ("parquet", ""),
])
def test_every_legacy_delivery_lands_exactly(tmp_path: Path, store: Any, fmt: str,
                                             prefix: str) -> None:
    drop = ("product/regionCode",) if fmt == "parquet" else ()  # older reports lack it
    header, data = cl.rows(drop)
    half = len(data) // 2
    if fmt == "parquet":
        files = [("rebill-00001.snappy.parquet", cl.parquet(header, data[:half])),
                 ("rebill-00002.snappy.parquet", cl.parquet(header, data[half:]))]
    elif fmt == "zip":
        files = [(f"rebill-{i}.csv.zip", cl.zipped(cl.csv_text(header, part), f"rebill-{i}.csv"))
                 for i, part in ((1, data[:half]), (2, data[half:]))]
    else:
        files = [("rebill-1.csv.gz", cl.gz(cl.csv_text(header, data)))]
    # an empty prefix: AWS writes keys beginning with "/"
    root = f"{prefix}/rebill" if prefix else "/rebill"
    cl.deliver(store, root, files, "asm-1", {"gzip": "GZIP", "zip": "ZIP"}.get(fmt, "Parquet"))
    conn = connector(tmp_path, store, prefix)
    assert conn.periods(date(2023, 1, 1), date(2023, 12, 31)) == [NOV]
    home = tmp_path / "home"
    result = load_partition(home, conn, NOV)
    assert result.rows == len(data) == 1281
    lake = lake_rows(home)
    assert by_account_day(lake) == cl.expected(data)
    keys = PARQUET_KEYS if fmt == "parquet" else None
    assert got_detail(lake) == expected_detail(data, keys)
    assert not list((home / "tmp").glob("cur-*"))  # downloaded/unzipped copies removed


def test_latest_assembly_wins(tmp_path: Path, s3: Any) -> None:
    header, data = cl.rows()
    old = [dict(r, **{"lineItem/UnblendedCost": "1"}) for r in data[:10]]
    cl.deliver(s3, "cur/rebill", [("rebill-1.csv.gz", cl.gz(cl.csv_text(header, old)))],
               "asm-old", "GZIP")
    # the newer assembly rewrites the period's manifest
    cl.deliver(s3, "cur/rebill", [("rebill-1.csv.gz", cl.gz(cl.csv_text(header, data)))],
               "asm-new", "GZIP")
    home = tmp_path / "home"
    assert load_partition(home, connector(tmp_path, s3, "cur"), NOV).rows == 1281
    assert by_account_day(lake_rows(home)) == cl.expected(data)


def test_newest_assembly_manifest_without_top_manifest(tmp_path: Path) -> None:
    store = tmp_path / "copy"
    header, data = cl.rows()
    cl.deliver(store, "cur/rebill", [("r.csv.gz", cl.gz(cl.csv_text(header, data[:5])))],
               "asm-a", "GZIP", top_manifest=False)
    import os
    old = store / "cur/rebill" / cl.SPAN / "asm-a" / "rebill-Manifest.json"
    os.utime(old, (1_600_000_000, 1_600_000_000))
    cl.deliver(store, "cur/rebill", [("r.csv.gz", cl.gz(cl.csv_text(header, data)))],
               "asm-b", "GZIP", top_manifest=False)
    home = tmp_path / "home"
    assert load_partition(home, connector(tmp_path, store, "cur"), NOV).rows == 1281


def test_unknown_compression_and_file_kind_refused(tmp_path: Path) -> None:
    store = tmp_path / "copy"
    cl.deliver(store, "cur/rebill", [("r.csv.bz2", b"x")], "asm-a", "BZIP2")
    with pytest.raises(FatalConnectorError, match=r"compression 'BZIP2' is not one AWS documents"):
        connector(tmp_path, store, "cur").extract(NOV)
    cl.deliver(store, "cur/rebill", [("r.csv.bz2", b"x")], "asm-a", "GZIP")
    with pytest.raises(DataContractError, match=r"r\.csv\.bz2: not a CUR data file"):
        connector(tmp_path, store, "cur").extract(NOV)


def test_bad_amount_names_file_row_column_value(tmp_path: Path) -> None:
    store = tmp_path / "copy"
    header, data = cl.rows()
    data[41]["lineItem/UnblendedCost"] = "12,5"
    cl.deliver(store, "cur/rebill", [("r.csv.zip", cl.zipped(cl.csv_text(header, data), "r.csv"))],
               "asm-a", "ZIP")
    with pytest.raises(DataContractError) as err:
        load_partition(tmp_path / "home", connector(tmp_path, store, "cur"), NOV)
    msg = str(err.value)
    assert "r.csv.zip, row 43, column lineItem/UnblendedCost: cannot parse '12,5'" in msg


def test_digits_beyond_12_decimals_are_counted_in_loads(tmp_path: Path) -> None:
    store = tmp_path / "copy"
    header, data = cl.rows()
    data[0]["lineItem/UnblendedCost"] = "0.12345678901234567"  # 5 digits beyond
    data[1]["lineItem/UnblendedCost"] = "-1.0000000000004"
    cl.deliver(store, "cur/rebill", [("r.csv.gz", cl.gz(cl.csv_text(header, data)))],
               "asm-a", "GZIP")
    home = tmp_path / "home"
    result = load_partition(home, connector(tmp_path, store, "cur"), NOV)
    lost = Decimal("0.00000000000034567") + Decimal("0.0000000000004")
    assert (result.rounded_values, result.rounded_amount) >= (2, lost)
    rec = read_loads(home).to_pylist()[-1]
    assert rec["rounded_values"] == result.rounded_values
    assert rec["rounded_amount"] == result.rounded_amount


def test_a_month_of_files_rounds_each_once_and_names_a_later_bad_value(tmp_path: Path) -> None:
    header, data = cl.rows()
    a, b = [dict(r) for r in data], [dict(r) for r in data]
    a[0]["lineItem/UnblendedCost"] = "0.12345678901234567"
    b[2]["lineItem/UnblendedCost"] = "-1.0000000000004"
    b[5]["lineItem/UnblendedCost"] = "1.5e-3"  # looked at closely, nothing to round

    def load(name: str, files: list[tuple[str, list[dict[str, str]]]], force: bool = False
             ) -> tuple[Any, bytes]:
        store = tmp_path / name
        cl.deliver(store, "cur/rebill", [(f, cl.gz(cl.csv_text(header, rows)))
                                         for f, rows in files], "asm-a", "GZIP")
        home = tmp_path / f"home-{name}"
        result = load_partition(home, connector(tmp_path, store, "cur"), NOV, force=force)
        return result, partition_file(home, "aws", NOV.label).read_bytes()

    alone_a, _ = load("a", [("a.csv.gz", a)])
    alone_b, _ = load("b", [("b.csv.gz", b)])
    both, lake = load("ab", [("a.csv.gz", a), ("b.csv.gz", b)])
    assert both.rows == alone_a.rows + alone_b.rows
    assert (both.rounded_values, both.rounded_amount) == (
        alone_a.rounded_values + alone_b.rounded_values,
        alone_a.rounded_amount + alone_b.rounded_amount)
    assert alone_b.rounded_values >= 1
    assert load("ab", [("a.csv.gz", a), ("b.csv.gz", b)], force=True)[1] == lake

    b[7]["lineItem/UsageStartDate"] = "yesterday"
    with pytest.raises(DataContractError) as err:
        load("bad", [("a.csv.gz", a), ("b.csv.gz", b)])
    assert str(err.value).count("\n") == 0
    assert "b.csv.gz, row 9, column lineItem/UsageStartDate: cannot parse 'yesterday'" in str(
        err.value)
    assert not partition_file(tmp_path / "home-bad", "aws", NOV.label).exists()
    assert not [p for p in (tmp_path / "home-bad").rglob("*") if ".tmp-" in p.name]
    assert read_loads(tmp_path / "home-bad").to_pylist()[-1]["status"] == "failed"


def test_a_local_copy_whose_folder_has_a_quote_reads(tmp_path: Path) -> None:
    store = tmp_path / "bob's copy"
    header, data = cl.rows()
    cl.deliver(store, "cur/rebill", [("r.csv.gz", cl.gz(cl.csv_text(header, data)))],
               "asm-a", "GZIP")
    result = load_partition(tmp_path / "home", connector(tmp_path, store, "cur"), NOV)
    assert result.rows == len(data)
    assert by_account_day(lake_rows(tmp_path / "home")) == cl.expected(data)
