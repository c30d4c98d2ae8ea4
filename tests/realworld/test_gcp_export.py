"""GCP billing export rows with FLOAT64 amounts beyond 12 decimals, via the real client.

No public sample export exists (cost-sources.md): rows are built from the
export schema (https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables/standard-usage)
in ``tests/unit/connectors/gcp/export_fixtures.py``. Sums per project and day are
computed here with Decimal from the same rows (cost + Σ credits).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.layout import partition_file
from rebill.normalize.lake import load_partition
from rebill.normalize.loads import read_loads
from rebill.periods import Period
from tests.fakes.bigquery import FakeBigQuery
from tests.unit.connectors.gcp import export_fixtures as fx

OCT = Period(date(2026, 10, 1))
TINY = ("0.12345678901234566", "-0.0000000000015")


def rows() -> list[dict]:
    data = fx.month_rows()
    data.append(fx.row("compute", "acme-prod", 4, TINY[0]))
    data.append(fx.row("compute", "globex-web", 4, TINY[1]))
    return data


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBigQuery]:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "billing-proj")
    server = FakeBigQuery(tables={fx.TABLE: (fx.SCHEMA, rows())}, page_size=5).start()
    yield server
    server.stop()


def test_rounded_amounts_are_counted_and_sums_exact_at_12_decimals(
        fake: FakeBigQuery, tmp_path: Path) -> None:
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 3))
    conn = build("gcp", {"type": "gcp_bigquery", "table": fx.TABLE, "endpoint": fake.url}, ctx)
    home = tmp_path / "home"
    result = load_partition(home, conn, OCT)
    q = Decimal(1).scaleb(-12)
    want: dict[tuple[str, str], Decimal] = {}
    for r in rows():
        net = Decimal(r["cost"]).quantize(q, ROUND_HALF_UP) + sum(
            (Decimal(c["amount"]).quantize(q, ROUND_HALF_UP) for c in r["credits"]), Decimal(0))
        key = (r["project"]["id"], r["usage_start_time"][:10])
        want[key] = want.get(key, Decimal(0)) + net
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    got = {(a, d): v for a, d, v in con.execute(
        "SELECT SubAccountId, strftime(ChargePeriodStart, '%Y-%m-%d'), sum(BilledCost) "
        f"FROM read_parquet('{partition_file(home, 'gcp', OCT.label)}') GROUP BY ALL").fetchall()}
    assert got == want
    # cost and cost_at_list of both rows lost digits
    lost = sum((abs(Decimal(t) - Decimal(t).quantize(q, ROUND_HALF_UP)) for t in TINY),
               Decimal(0)) * 2
    assert (result.rounded_values, result.rounded_amount) == (4, lost)
    assert read_loads(home).to_pylist()[-1]["rounded_values"] == 4
    assert not list((home / "tmp").glob("gcp-*"))
