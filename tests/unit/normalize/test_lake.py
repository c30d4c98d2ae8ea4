from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from rebill.errors import DataContractError
from rebill.layout import partition_file
from rebill.normalize.catalog import connect, ensure_layout
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.helpers import ListConnector, row

SEPT = Period(date(2024, 9, 1))
REPO = Path(__file__).resolve().parents[3]


def sept_rows(n: int, cost: str = "1.000000000001") -> list[dict]:
    return [row(date(2024, 9, 1 + i % 30), cost) for i in range(n)]


def test_load_and_totals(home: Path) -> None:
    conn = ListConnector("src", {"2024-09": sept_rows(2500)}, batch_size=1000)
    result = load_partition(home, conn, SEPT)
    assert result.rows == 2500
    assert result.billed_cost == {"USD": Decimal("2500.000000002500")}
    con = connect(home)
    assert con.execute("SELECT sum(BilledCost), count(*) FROM costs").fetchall() == [
        (Decimal("2500.000000002500"), 2500)]
    loads = con.execute("SELECT source, period, rows, billed_cost, status FROM loads").fetchall()
    assert loads == [("src", "2024-09", 2500, Decimal("2500.000000002500"), "ok")]


def test_identical_rows_are_both_kept_with_distinct_ids(home: Path) -> None:
    same = row(date(2024, 9, 3), "5")
    load_partition(home, ListConnector("src", {"2024-09": [same, same]}), SEPT)
    ids = pq.read_table(partition_file(home, "src", "2024-09")).column("x_row_id").to_pylist()
    assert len(ids) == 2 and ids[0] != ids[1]
    assert ids[0].split("-")[0] == ids[1].split("-")[0]  # same content hash


def test_unchanged_fingerprint_does_no_work(home: Path) -> None:
    conn = ListConnector("src", {"2024-09": sept_rows(10)})
    load_partition(home, conn, SEPT)
    again = load_partition(home, conn, SEPT)
    assert again.status == "unchanged"
    conn.fingerprint = "v2"
    assert load_partition(home, conn, SEPT).status == "loaded"


@pytest.mark.parametrize(
    ("override", "column", "problem"),
    [
        ({"ChargeCategory": "Usagee"}, "ChargeCategory", "not a FOCUS allowed value"),
        ({"BillingCurrency": "XYZ"}, "BillingCurrency", "ISO 4217"),
        ({"ServiceName": None}, "ServiceName", "is null"),
        ({"ChargeFrequency": "Usage-Based", "ChargeCategory": "Purchase"}, "ChargeFrequency",
         "Usage-Based on a Purchase"),
    ],
)
def test_bad_row_is_named_and_old_partition_kept(home: Path, override: dict, column: str,
                                                 problem: str) -> None:
    good = ListConnector("src", {"2024-09": sept_rows(5)})
    load_partition(home, good, SEPT)
    path = partition_file(home, "src", "2024-09")
    before = path.read_bytes()
    rows = sept_rows(5)
    rows[3] = {**rows[3], **override}
    bad = ListConnector("src", {"2024-09": rows}, fingerprint="v2")
    with pytest.raises(DataContractError) as err:
        load_partition(home, bad, SEPT)
    msg = str(err.value)
    assert "\n" not in msg
    assert "source src" in msg and "row 4" in msg and f"column {column}" in msg and problem in msg
    assert path.read_bytes() == before
    con = connect(home)
    assert con.execute("SELECT status FROM loads ORDER BY started_at").fetchall() == [
        ("ok",), ("failed",)]


def test_charge_period_order_and_billing_period_checked(home: Path) -> None:
    r = row(date(2024, 9, 2), "1")
    r["ChargePeriodEnd"] = r["ChargePeriodStart"]
    with pytest.raises(DataContractError, match="ChargePeriodStart"):
        load_partition(home, ListConnector("src", {"2024-09": [r]}), SEPT)
    other = row(date(2024, 8, 2), "1")
    with pytest.raises(DataContractError, match="not in billing period 2024-09"):
        load_partition(home, ListConnector("src", {"2024-09": [other]}), SEPT)


def test_float_money_refused(home: Path) -> None:
    import pyarrow as pa

    from rebill.connectors.base import Extract, SourceBatch
    from tests.helpers import table

    t = table(sept_rows(2))
    t = t.set_column(0, "BilledCost", pa.array([1.5, 2.5], pa.float64()))

    class FloatConn(ListConnector):
        def extract(self, period: Period) -> Extract:
            return Extract("f", iter([SourceBatch(t, "memory")]))

    with pytest.raises(DataContractError, match="money must be decimal"):
        load_partition(home, FloatConn("src", {"2024-09": []}), SEPT)


KILL_SCRIPT = """
import sys
from datetime import date
from pathlib import Path
from rebill.periods import Period
from rebill.normalize.lake import load_partition
from tests.helpers import ListConnector, row
rows = [row(date(2024, 9, 1 + i % 30), "2") for i in range(200)]
conn = ListConnector("src", {"2024-09": rows}, fingerprint="v2", batch_size=10, delay=0.2)
print("started", flush=True)
load_partition(Path(sys.argv[1]), conn, Period(date(2024, 9, 1)))
"""


def test_killed_writer_leaves_previous_partition(home: Path) -> None:
    load_partition(home, ListConnector("src", {"2024-09": sept_rows(7)}), SEPT)
    path = partition_file(home, "src", "2024-09")
    before = path.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(home)], cwd=REPO,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"started"
    deadline = time.monotonic() + 30
    while not list(path.parent.glob(".*.tmp-*")):  # writing has begun
        assert time.monotonic() < deadline, "writer never started"
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert path.read_bytes() == before
    con = connect(home)
    assert con.execute("SELECT count(*) FROM costs").fetchall() == [(7,)]
    # the next run converges and cleans up the killed writer's temporary file
    result = load_partition(home, ListConnector("src", {"2024-09": sept_rows(3)}, "v3"), SEPT)
    assert result.rows == 3
    assert not list(path.parent.glob(".*.tmp-*"))


HOLD_SCRIPT = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET file_search_path = '" + sys.argv[1].rsplit("/", 1)[0] + "'")
con.execute("SELECT count(*) FROM costs").fetchall()
print("holding", flush=True)
time.sleep(60)
"""


def test_analyst_holding_catalog_does_not_fail_a_run(home: Path) -> None:
    from rebill.layout import catalog_file
    from rebill.normalize.catalog import refresh_catalog

    ensure_layout(home)
    assert refresh_catalog(home)
    proc = subprocess.Popen([sys.executable, "-c", HOLD_SCRIPT, str(catalog_file(home))],
                            stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"holding"
        load_partition(home, ListConnector("src", {"2024-09": sept_rows(4)}), SEPT)
        refresh_catalog(home)  # must not raise while the analyst holds the file
        ro = duckdb.connect(str(catalog_file(home)), read_only=True)
        ro.execute(f"SET file_search_path = '{home}'")
        assert ro.execute("SELECT count(*) FROM costs").fetchall() == [(4,)]
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
