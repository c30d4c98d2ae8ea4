"""aws_cur against moto's S3: manifests, Parquet and gzip CSV, restatements, reconciliation."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.errors import ConfigError, DataContractError, FatalConnectorError
from rebill.layout import partition_file
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.conftest import REPO
from tests.unit.connectors.aws import cur_fixtures as fx

OCT = Period(date(2026, 10, 1))


def _connector(tmp_path: Path, **cfg: Any) -> Any:
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 3))
    raw = {"type": "aws_cur", "bucket": "acme-cur", "prefix": "exports/cur2",
           "export_name": "rebill", **cfg}
    return build("aws", raw, ctx)


def _lake_totals(home: Path, source: str, period: Period) -> dict[tuple[str, str, str], Decimal]:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    path = partition_file(home, source, period.label)
    rows = con.execute(
        "SELECT SubAccountId, ServiceName, strftime(ChargePeriodStart, '%Y-%m-%d'), "
        f"sum(BilledCost) FROM read_parquet('{path}') GROUP BY ALL"
    ).fetchall()
    return {(a, s, d): v for a, s, d, v in rows}


def _nonzero(totals: dict[Any, Decimal]) -> dict[Any, Decimal]:
    return {k: v for k, v in totals.items() if v != 0}


def test_parquet_month_reconciles_per_account_service_day(s3: Any, tmp_path: Path) -> None:
    rows = fx.month_rows()
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10",
                  [("rebill-00001.snappy.parquet", fx.parquet_bytes(rows[:20])),
                   ("rebill-00002.snappy.parquet", fx.parquet_bytes(rows[20:]))], "exec-1")
    conn = _connector(tmp_path)
    assert conn.periods(date(2026, 9, 1), date(2026, 11, 30)) == [OCT]
    home = tmp_path / "home"
    result = load_partition(home, conn, OCT)
    assert result.rows == len(rows)
    assert _nonzero(_lake_totals(home, "aws", OCT)) == _nonzero(fx.expected_billed(rows))
    assert result.billed_cost["USD"] == sum(fx.expected_billed(rows).values())


def test_gzip_csv_month_reconciles(s3: Any, tmp_path: Path) -> None:
    rows = fx.month_rows()
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10",
                  [("rebill-00001.csv.gz", fx.csv_gz_bytes(rows))], "exec-1")
    home = tmp_path / "home"
    load_partition(home, _connector(tmp_path), OCT)
    assert _nonzero(_lake_totals(home, "aws", OCT)) == _nonzero(fx.expected_billed(rows))


def _lake(home: Path) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    path = partition_file(home, "aws", OCT.label)
    table = con.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table()
    return table.to_pylist()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_line_item_types_map_to_focus(s3: Any, tmp_path: Path, fmt: str) -> None:
    rows = fx.month_rows()
    body = fx.parquet_bytes(rows) if fmt == "parquet" else fx.csv_gz_bytes(rows)
    name = "f.snappy.parquet" if fmt == "parquet" else "f.csv.gz"
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10", [(name, body)], "e")
    home = tmp_path / "home"
    load_partition(home, _connector(tmp_path), OCT)
    lake = _lake(home)
    by_desc = {r["ChargeDescription"]: r for r in lake}

    def one(kind: str, product: str) -> dict[str, Any]:
        return by_desc[f"{kind} of {product}"]

    usage = one("Usage", "AmazonEC2")
    assert (usage["ChargeCategory"], usage["ChargeFrequency"], usage["PricingCategory"]) == (
        "Usage", "Usage-Based", "Standard")
    assert usage["Tags"] == [("tenant", "acme"), ("team", "web")] or dict(usage["Tags"]) == {
        "tenant": "acme", "team": "web"}
    assert usage["BillingAccountId"] == fx.PAYER and usage["SubAccountId"] == fx.ACCT_A
    assert usage["ServiceName"] == "Amazon Elastic Compute Cloud"
    assert usage["ServiceCategory"] == "Compute" and usage["RegionId"] == "us-east-1"
    s3row = one("Usage", "AmazonS3")
    assert s3row["BilledCost"] == Decimal("0.45") and s3row["ListCost"] == Decimal("0.5")
    ri = one("DiscountedUsage", "AmazonEC2")
    assert ri["BilledCost"] == 0 and ri["EffectiveCost"] == Decimal("0.05")
    assert ri["CommitmentDiscountType"] == "Reserved Instance"
    assert ri["PricingCategory"] == "Committed"
    spc = one("SavingsPlanCoveredUsage", "AmazonEC2")
    assert spc["EffectiveCost"] == Decimal("0.07") and spc["CommitmentDiscountCategory"] == "Spend"
    neg = one("SavingsPlanNegation", "AmazonEC2")
    assert neg["EffectiveCost"] == 0 and neg["BilledCost"] == Decimal("-0.1")
    fee = one("SavingsPlanRecurringFee", "ComputeSavingsPlans")
    assert (fee["ChargeCategory"], fee["ChargeFrequency"]) == ("Purchase", "Recurring")
    assert fee["EffectiveCost"] == Decimal("0.8")
    rifee = one("RIFee", "AmazonEC2")
    assert rifee["ChargeCategory"] == "Purchase"
    assert rifee["ChargePeriodEnd"] > rifee["ChargePeriodStart"]
    support = one("Fee", "AWSSupportBusiness")
    assert (support["ChargeCategory"], support["ChargeFrequency"]) == ("Purchase", "One-Time")
    assert support["ServiceName"] == "AWS Support (Business)"
    tax = one("Tax", "AmazonEC2")
    assert (tax["ChargeCategory"], tax["PricingCategory"], tax["PricingQuantity"]) == (
        "Tax", None, None)
    credit = one("Credit", "AmazonS3")
    assert credit["ChargeCategory"] == "Credit" and credit["EffectiveCost"] == Decimal("-5")
    refund = one("Refund", "AmazonRDS")
    assert (refund["ChargeCategory"], refund["ChargeClass"]) == ("Usage", "Correction")
    edp = one("EdpDiscount", "AmazonEC2")
    assert edp["ChargeCategory"] == "Credit" and edp["BilledCost"] == Decimal("-1.5")


def test_unchanged_manifest_is_not_reread_and_restatement_replaces(s3: Any, tmp_path: Path) -> None:
    first = fx.month_rows()
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10",
                  [("rebill-00001.snappy.parquet", fx.parquet_bytes(first))], "exec-1")
    home = tmp_path / "home"
    assert load_partition(home, _connector(tmp_path), OCT).status == "loaded"
    assert load_partition(home, _connector(tmp_path), OCT).status == "unchanged"
    # AWS restates the month: new execution, different files and amounts.
    restated = fx.month_rows(scale="2")
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10",
                  [("rebill-00001.snappy.parquet", fx.parquet_bytes(restated[:5])),
                   ("rebill-00002.snappy.parquet", fx.parquet_bytes(restated[5:]))], "exec-2")
    again = load_partition(home, _connector(tmp_path), OCT)
    assert again.status == "loaded" and again.rows == len(restated)
    assert _nonzero(_lake_totals(home, "aws", OCT)) == _nonzero(fx.expected_billed(restated))


def test_missing_manifest_is_one_clear_error(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(FatalConnectorError, match=r"no manifest for billing period 2026-10"):
        _connector(tmp_path).extract(OCT)


def test_unparsable_amount_names_file(s3: Any, tmp_path: Path) -> None:
    rows = fx.month_rows()[:3]
    body = fx.csv_gz_bytes(rows)
    text = gzip.decompress(body).decode().replace(",1.234567891234,", ",1.23abc,", 1)
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10",
                  [("bad.csv.gz", gzip.compress(text.encode()))], "e")
    with pytest.raises(DataContractError, match=r"bad\.csv\.gz"):
        load_partition(tmp_path / "home", _connector(tmp_path), OCT)


def test_manifest_must_list_files(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket="acme-cur",
                  Key="exports/cur2/rebill/metadata/BILLING_PERIOD=2026-10/rebill-Manifest.json",
                  Body=json.dumps({"executionId": "x"}).encode())
    with pytest.raises(FatalConnectorError, match="lists no dataFiles"):
        _connector(tmp_path).extract(OCT)


def test_config_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources\.aws.*exactly one of bucket"):
        build("aws", {"type": "aws_cur", "export_name": "x"},
              Context(home=tmp_path, base_dir=tmp_path, today=date(2026, 1, 1)))


def test_legacy_cur_csv_layout(s3: Any, tmp_path: Path) -> None:
    sample = REPO / "data" / "samples" / "aws-cur-legacy" / "aws_cur_legacy_sample.csv"
    gz = tmp_path / "legacy.csv.gz"
    with sample.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    key = "legacy/rebill/20231101-20231201/asm-1/rebill-1.csv.gz"
    s3.put_object(Bucket="acme-cur", Key=key, Body=gz.read_bytes())
    s3.put_object(Bucket="acme-cur", Key="legacy/rebill/20231101-20231201/rebill-Manifest.json",
                  Body=json.dumps({"assemblyId": "asm-1", "reportKeys": [key]}).encode())
    conn = _connector(tmp_path, prefix="legacy", layout="legacy")
    nov = Period(date(2023, 11, 1))
    assert conn.periods(date(2023, 1, 1), date(2023, 12, 31)) == [nov]
    home = tmp_path / "home"
    result = load_partition(home, conn, nov)
    con = duckdb.connect()
    expected = dict(con.execute(
        "SELECT \"lineItem/UsageAccountId\" || '|' || \"product/ProductName\" || '|' || "
        "left(\"lineItem/UsageStartDate\", 10), sum(CAST(\"lineItem/UnblendedCost\" AS DECIMAL(38,12))) "
        f"FROM read_csv('{sample}', all_varchar=true) GROUP BY ALL").fetchall())
    got = {"|".join(k): v for k, v in _lake_totals(home, "aws", nov).items()}
    assert result.rows == 1281
    assert got == expected


def test_bundled_sample_from_a_local_copy_reconciles(tmp_path: Path) -> None:
    """The demo's CUR sample: a local mirror of the bucket (``path``), same code path."""
    root = REPO / "data" / "samples" / "aws" / "cur"
    manifest = json.loads(next(root.rglob("rebill-Manifest.json")).read_text())
    conn = _connector(tmp_path, bucket=None, path=str(root))
    assert conn.periods(date(2026, 1, 1), date(2026, 12, 31)) == [OCT]
    home = tmp_path / "home"
    result = load_partition(home, conn, OCT)
    con = duckdb.connect()
    files = [str(root / u.split("/", 3)[3]) for u in manifest["dataFiles"]]
    expected = con.execute(
        "SELECT sum(CAST(CAST(coalesce(line_item_net_unblended_cost, line_item_unblended_cost) "
        f"AS VARCHAR) AS DECIMAL(38,12))), count(*) FROM read_parquet({files})").fetchall()[0]
    assert (result.billed_cost["USD"], result.rows) == expected
    assert sorted(p.name for p in root.rglob("*.parquet")) == [
        "rebill-00001.snappy.parquet", "rebill-00002.snappy.parquet"]  # nothing deleted


def test_missing_bucket_is_a_fatal_error_naming_it(aws_env: None, tmp_path: Path) -> None:
    with pytest.raises(FatalConnectorError, match=r"s3://acme-cur/exports/cur2/rebill/metadata/"):
        _connector(tmp_path).periods(date(2026, 1, 1), date(2026, 12, 31))


def test_csv_read_on_its_own_thread_gives_the_streamed_bytes(
        s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV part is staged: one thread reads the file in order while the lake's DuckDB
    maps what was read as it arrives; the partition is the one-thread stream's,
    byte for byte, and a bad value in a later chunk is named as before."""
    from rebill.normalize import lake

    rows = fx.month_rows()
    body = fx.csv_gz_bytes(rows)
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10",
                  [("rebill-00001.csv.gz", body)], "exec-1")
    monkeypatch.setattr(lake, "_STAGED_BATCH_ROWS", 3)  # read 3 rows at a time,
    monkeypatch.setattr(lake, "_STAGED_AHEAD", 2)  # a few batches ahead,
    monkeypatch.setattr(lake, "ROW_GROUP_ROWS", 4)  # mapped into batches of 4
    staged: list[int] = []
    real = lake._staged_tables

    def counting(*args: Any) -> Any:
        for table in real(*args):
            staged.append(table.num_rows)
            yield table

    monkeypatch.setattr(lake, "_staged_tables", counting)

    def load(name: str) -> bytes:
        load_partition(tmp_path / name, _connector(tmp_path), OCT)
        return partition_file(tmp_path / name, "aws", OCT.label).read_bytes()

    chunked = load("staged")
    assert sum(staged) == len(rows) and len(staged) > 2
    placeholder = lake._rows_placeholder
    monkeypatch.setattr(lake, "_rows_placeholder", lambda con, sql: None)
    assert load("streamed") == chunked
    assert sum(staged) == len(rows)  # the stream is not staged
    monkeypatch.setattr(lake, "_rows_placeholder", placeholder)
    text = gzip.decompress(body).decode().splitlines()
    text[-1] = text[-1].replace(",-1.5,", ",-1.5abc,", 1)
    assert "-1.5abc" in text[-1]
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10",
                  [("rebill-00001.csv.gz", gzip.compress(("\n".join(text) + "\n").encode()))],
                  "exec-2")
    with pytest.raises(DataContractError, match=rf"rebill-00001\.csv\.gz, row {len(text)}, "
                                                r"column \S+: cannot parse '-1\.5abc'"):
        load_partition(tmp_path / "bad", _connector(tmp_path), OCT)
    monkeypatch.setattr(lake, "_rows_placeholder", lambda con, sql: None)  # streamed: the same
    with pytest.raises(DataContractError, match=rf"rebill-00001\.csv\.gz, row {len(text)}, "
                                                r"column \S+: cannot parse '-1\.5abc'"):
        load_partition(tmp_path / "bad-streamed", _connector(tmp_path), OCT)
    assert not partition_file(tmp_path / "bad-streamed", "aws", OCT.label).exists()


def test_a_broken_csv_row_deep_in_a_staged_file_is_one_line(
        s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reading thread's error (a row with too many fields, past the first batches)
    names the file and the CSV line; nothing is stored."""
    from rebill.normalize import lake

    text = gzip.decompress(fx.csv_gz_bytes(fx.month_rows())).decode().splitlines()
    text += text[1:] * (3000 // len(text) + 1)  # past DuckDB's first 2,048-row chunk
    text.append(text[-1] + ",extra")
    fx.put_export(s3, "acme-cur", "exports/cur2", "rebill", "2026-10",
                  [("rebill-00001.csv.gz", gzip.compress(("\n".join(text) + "\n").encode()))],
                  "exec-1")
    monkeypatch.setattr(lake, "ROW_GROUP_ROWS", 64)
    with pytest.raises(DataContractError) as caught:
        load_partition(tmp_path / "home", _connector(tmp_path), OCT)
    message = str(caught.value)
    assert "rebill-00001.csv.gz" in message and f"Line: {len(text)}" in message, message
    assert "\n" not in message
    assert not partition_file(tmp_path / "home", "aws", OCT.label).exists()
