"""A home written before the FOCUS 1.2 columns existed still reads after the upgrade."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.layout import SCHEMA_DIR, lake_root, partition_file
from rebill.normalize.catalog import connect, ensure_layout, refresh_catalog
from rebill.normalize.lake import load_partition
from tests.conftest import SAMPLES

NEW = ("BillingAccountType", "SubAccountType", "SkuMeter", "SkuPriceDetails",
       "ServiceSubcategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
       "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "CapacityReservationId",
       "CapacityReservationStatus", "CommitmentDiscountName", "CommitmentDiscountQuantity",
       "CommitmentDiscountUnit", "x_PricingUnitOriginal", "x_CostCategories", "x_SplitCost",
       "x_SplitUnusedCost", "x_SplitParentResourceId")


def _drop_new(path: Path) -> None:
    table = pq.read_table(path)
    pq.write_table(table.drop_columns([c for c in NEW if c in table.column_names]), path)


def test_old_partitions_and_placeholder_read_after_upgrade(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "exports")
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2024, 10, 3))
    conn = build("files", {"type": "focus", "path": "exports/*.csv"}, ctx)
    home = tmp_path / "home"
    ensure_layout(home)
    for p in conn.periods(date.min, date(2024, 10, 3)):
        load_partition(home, conn, p)
    total = connect(home).execute("SELECT sum(BilledCost), count(*) FROM costs").fetchall()
    # as an older rebill wrote them: September and the placeholder without the new columns
    _drop_new(partition_file(home, "files", "2024-09"))
    _drop_new(lake_root(home) / SCHEMA_DIR / SCHEMA_DIR / "part-0.parquet")
    ensure_layout(home)
    refresh_catalog(home)
    con = connect(home)
    assert con.execute("SELECT sum(BilledCost), count(*) FROM costs").fetchall() == total
    assert con.execute("SELECT count(*) FROM costs WHERE x_PricingUnitOriginal IS NOT NULL "
                       "AND strftime(BillingPeriodStart, '%Y-%m') = '2024-09'").fetchall() == [(0,)]
