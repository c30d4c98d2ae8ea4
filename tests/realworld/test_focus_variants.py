"""FOCUS files as they arrive from the field.

* The FOCUS-Sample-Data 1,000-row file (CC BY 4.0, ``data/samples/focus/``)
  re-saved the way a spreadsheet saves it (``9/1/2024 0:00``,
  ``"$10,100.00 "``): refused with one line naming file, row, column and
  value, and accepted exactly once the source declares that layout.
* A typed Parquet file with the whole FOCUS 1.2 column set, built
  column-for-column from https://focus.finops.org/focus-specification/v1-2/
  (the 1,000 rows above as the base, 1.2-only columns added).
* Files read whose rows lie outside the requested range: named, never silent.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.errors import DataContractError
from rebill.normalize.catalog import connect, ensure_layout
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv"
TIMES = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
COSTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
SEPT = Period(date(2024, 9, 1))


def sample() -> tuple[list[str], list[dict[str, str]]]:
    with SAMPLE.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def expected(data: list[dict[str, str]], period: str = "2024-09") -> dict[tuple[str, str], Decimal]:
    """Σ BilledCost per (BillingAccountId, UTC day of ChargePeriodStart), rows of ``period``."""
    out: dict[tuple[str, str], Decimal] = {}
    for r in data:
        if r["BillingPeriodStart"][:7] != period:
            continue
        key = (r["BillingAccountId"], r["ChargePeriodStart"][:10])
        out[key] = out.get(key, Decimal(0)) + Decimal(r["BilledCost"])
    return out


def spreadsheet(data: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for rec in data:
        r = dict(rec)
        for c in TIMES:
            t = datetime.fromisoformat(r[c])
            r[c] = f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}"
        for c in COSTS:
            if r[c] not in ("", "NULL"):
                r[c] = f"${Decimal(r[c]):,} "
        out.append(r)
    return out


def write_csv(path: Path, header: list[str], data: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(data)


def connector(tmp_path: Path, pattern: str, **extra: Any) -> Any:
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2024, 10, 3))
    return build("files", {"type": "focus", "path": pattern, **extra}, ctx)


def lake_sums(home: Path) -> dict[tuple[str, str], Decimal]:
    con = connect(home)
    return {(a, d): v for a, d, v in con.execute(
        "SELECT BillingAccountId, strftime(ChargePeriodStart, '%Y-%m-%d'), sum(BilledCost) "
        "FROM costs WHERE period = '2024-09' GROUP BY ALL").fetchall()} if _has_period(con) else {
        (a, d): v for a, d, v in con.execute(
            "SELECT BillingAccountId, strftime(ChargePeriodStart, '%Y-%m-%d'), sum(BilledCost) "
            "FROM costs WHERE strftime(BillingPeriodStart, '%Y-%m') = '2024-09' GROUP BY ALL"
        ).fetchall()}


def _has_period(con: duckdb.DuckDBPyConnection) -> bool:
    return "period" in [d[0] for d in con.execute("SELECT * FROM costs LIMIT 0").description]


def test_spreadsheet_layout_is_refused_with_one_line(tmp_path: Path) -> None:
    header, data = sample()
    bad = tmp_path / "exports" / "saved.csv"
    write_csv(bad, header, spreadsheet(data))
    with pytest.raises(DataContractError) as err:
        connector(tmp_path, "exports/*.csv").periods(date.min, date(2024, 10, 3))
    msg = str(err.value)
    assert "\n" not in msg and str(bad) in msg and ", row 2, column " in msg
    assert "'$" in msg or "'9/" in msg


def test_declared_spreadsheet_layout_loads_exactly(tmp_path: Path) -> None:
    header, data = sample()
    write_csv(tmp_path / "exports" / "saved.csv", header, spreadsheet(data))
    conn = connector(tmp_path, "exports/*.csv", datetime_format="%m/%d/%Y %H:%M",
                     thousands_separator=",", currency_symbol="$")
    home = tmp_path / "home"
    ensure_layout(home)
    assert SEPT in conn.periods(date.min, date(2024, 10, 3))
    result = load_partition(home, conn, SEPT)
    assert result.rows == sum(1 for r in data if r["BillingPeriodStart"][:7] == "2024-09")
    assert lake_sums(home) == expected(data)


MONEY = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity",
         "ConsumedQuantity", "ListUnitPrice", "ContractedUnitPrice")


def test_sample_values_beyond_12_decimals_are_counted(tmp_path: Path) -> None:
    header, data = sample()
    write_csv(tmp_path / "exports" / "s.csv", header, data)
    q = Decimal(1).scaleb(-12)
    n, lost = 0, Decimal(0)
    for r in data:
        if r["BillingPeriodStart"][:7] != "2024-09":
            continue
        for c in MONEY:
            if r[c] not in ("", "NULL"):
                v = Decimal(r[c])
                if v != v.quantize(q):
                    n, lost = n + 1, lost + abs(v - v.quantize(q, rounding="ROUND_HALF_UP"))
    home = tmp_path / "home"
    ensure_layout(home)
    result = load_partition(home, connector(tmp_path, "exports/*.csv"), SEPT)
    assert n > 0
    assert (result.rounded_values, result.rounded_amount) == (n, lost)


def test_a_day_first_file_with_comma_decimals(tmp_path: Path) -> None:
    header, data = sample()
    rows = []
    for rec in data[:40]:
        r = dict(rec)
        for c in TIMES:
            r[c] = datetime.fromisoformat(r[c]).strftime("%d.%m.%Y %H:%M")
        for c in COSTS:
            if r[c] not in ("", "NULL"):
                r[c] = f"{Decimal(r[c]):,}".replace(",", " ").replace(".", ",")
        rows.append(r)
    write_csv(tmp_path / "exports" / "eu.csv", header, rows)
    conn = connector(tmp_path, "exports/*.csv", datetime_format="%d.%m.%Y %H:%M",
                     decimal_separator=",", thousands_separator=" ")
    home = tmp_path / "home"
    ensure_layout(home)
    load_partition(home, conn, SEPT)
    assert lake_sums(home) == expected(data[:40])


def test_no_rows_in_the_requested_range_names_files_and_periods(tmp_path: Path) -> None:
    header, data = sample()
    write_csv(tmp_path / "exports" / "sept.csv", header, data)
    with pytest.raises(DataContractError) as err:
        connector(tmp_path, "exports/*.csv").periods(date(2026, 10, 1), date(2026, 10, 31))
    msg = str(err.value)
    assert "no rows in the requested range 2026-10-01..2026-10-31" in msg
    assert "sept.csv: 2024-09, 2024-10" in msg


FOCUS_12_ONLY = {
    "BillingAccountType": pa.string(), "SubAccountType": pa.string(),
    "ServiceSubcategory": pa.string(), "SkuMeter": pa.string(), "SkuPriceDetails": pa.string(),
    "PricingCurrency": pa.string(), "PricingCurrencyContractedUnitPrice": pa.decimal128(20, 10),
    "PricingCurrencyEffectiveCost": pa.decimal128(20, 10),
    "PricingCurrencyListUnitPrice": pa.decimal128(20, 10),
    "CapacityReservationId": pa.string(), "CapacityReservationStatus": pa.string(),
    "CommitmentDiscountName": pa.string(), "CommitmentDiscountQuantity": pa.decimal128(20, 6),
    "CommitmentDiscountUnit": pa.string(),
}


def test_focus_12_typed_parquet_keeps_every_column(tmp_path: Path) -> None:
    header, data = sample()
    data = [r for r in data if r["BillingPeriodStart"][:7] == "2024-09"][:60]
    cols: dict[str, pa.Array] = {}
    for c in header:
        values = [None if r[c] in ("", "NULL") else r[c] for r in data]
        if c in COSTS:
            cols[c] = pa.array([Decimal(v) for v in values], pa.decimal128(30, 12))
        elif c in TIMES:
            cols[c] = pa.array([datetime.fromisoformat(v) for v in values], pa.timestamp("ms"))
        else:
            cols[c] = pa.array(values, pa.string())
    n = len(data)
    for c, t in FOCUS_12_ONLY.items():
        if t == pa.string():
            cols[c] = pa.array([f"{c}-{i % 3}" if c != "CapacityReservationStatus" else "Used"
                                for i in range(n)], t)
        else:
            cols[c] = pa.array([Decimal(i) / 8 for i in range(n)], t)
    path = tmp_path / "exports" / "focus12.parquet"
    path.parent.mkdir()
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    path.write_bytes(buf.getvalue())
    home = tmp_path / "home"
    ensure_layout(home)
    load_partition(home, connector(tmp_path, "exports/*.parquet"), SEPT)
    assert lake_sums(home) == expected(data)
    con = connect(home)
    got = con.execute(
        "SELECT " + ", ".join(FOCUS_12_ONLY) + " FROM costs ORDER BY x_row_id").fetchall()
    assert len(got) == n
    assert sorted(r[FOCUS_12_ONLY.__len__() - 2] for r in got) == sorted(
        Decimal(i) / 8 for i in range(n))
    assert {r[list(FOCUS_12_ONLY).index("CapacityReservationStatus")] for r in got} == {"Used"}
    assert all(r[0].startswith("BillingAccountType-") for r in got)
