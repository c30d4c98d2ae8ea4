"""aws_cost_explorer against moto (answers queued through moto's API) and a throttling fake."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rebill.connectors.aws.cost_explorer import CostExplorerConnector
from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.errors import ConfigError, RetriableConnectorError
from rebill.layout import partition_file
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.unit.connectors.aws import ce_fixtures as fx

OCT = Period(date(2026, 10, 1))


def _connector(tmp_path: Path, today: date = date(2026, 11, 3), **cfg: Any) -> Any:
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=today)
    return build("aws-ce", {"type": "aws_cost_explorer", **cfg}, ctx)


def test_all_pages_reconcile_per_account_service_day(aws_env: None, tmp_path: Path) -> None:
    results = fx.day_results(OCT.start, 31)
    fx.queue(fx.pages(results, 10))
    conn = _connector(tmp_path)
    home = tmp_path / "home"
    result = load_partition(home, conn, OCT)
    assert conn.requests == 4  # 31 days, 10 per page
    assert result.rows == 31 * len(fx.GROUPS)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    rows = con.execute(
        "SELECT SubAccountId, ServiceName, strftime(ChargePeriodStart, '%Y-%m-%d'), "
        "sum(BilledCost), bool_or(x_estimated), min(ChargeCategory) "
        f"FROM read_parquet('{partition_file(home, 'aws-ce', OCT.label)}') GROUP BY ALL"
    ).fetchall()
    assert {(a, s, d): v for a, s, d, v, _, _ in rows} == fx.expected(results)
    assert not any(r[4] for r in rows)
    assert {r[1] for r in rows if r[5] == "Tax"} == {"Tax"}
    account = con.execute(
        f"SELECT DISTINCT BillingAccountId, ChargeDescription LIKE 'Cost Explorer daily%' "
        f"FROM read_parquet('{partition_file(home, 'aws-ce', OCT.label)}')").fetchall()
    assert account == [("123456789012", True)]  # moto's caller account


def test_open_month_is_estimated_and_clamped_to_today(aws_env: None, tmp_path: Path) -> None:
    nov = Period(date(2026, 11, 1))
    results = fx.day_results(nov.start, 3, estimated_from=1)
    fx.queue(fx.pages(results, 2))
    conn = _connector(tmp_path, today=date(2026, 11, 3))
    assert conn.periods(date(2026, 10, 1), date(2026, 12, 31)) == [OCT, nov]
    table_rows = []
    for sb in conn.extract(nov).batches:
        table_rows += sb.data.to_pylist()
    assert len(table_rows) == 3 * len(fx.GROUPS)
    assert sorted({(r["ChargePeriodStart"].day, r["x_estimated"]) for r in table_rows}) == [
        (1, False), (2, True), (3, True)]


def test_unchanged_results_same_fingerprint(aws_env: None, tmp_path: Path) -> None:
    fx.queue(fx.pages(fx.day_results(OCT.start, 31), 31))
    home = tmp_path / "home"
    assert load_partition(home, _connector(tmp_path), OCT).status == "loaded"
    assert load_partition(home, _connector(tmp_path), OCT).status == "unchanged"


def test_group_by_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="group_by"):
        _connector(tmp_path, group_by=["LINKED_ACCOUNT", "SERVICE", "REGION"])
    with pytest.raises(ConfigError, match="group_by"):
        _connector(tmp_path, group_by=["NOPE"])


class _Throttling(BaseHTTPRequestHandler):
    """Cost Explorer's JSON protocol: throttles ``fail`` times, then answers one page."""

    fail = 2
    calls = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls += 1
        if type(self).calls <= type(self).fail:
            body = {"__type": "LimitExceededException", "message": "Rate exceeded"}
            status = 400
        else:
            body = fx.pages(fx.day_results(OCT.start, 2), 5)[0]
            status = 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def throttling(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(CostExplorerConnector, "sleep", staticmethod(lambda s: None))
    _Throttling.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_limit_exceeded_is_retried_with_backoff(throttling: str, tmp_path: Path) -> None:
    conn = _connector(tmp_path, endpoint=throttling, billing_account="999900001111")
    rows = [r for sb in conn.extract(OCT).batches for r in sb.data.to_pylist()]
    assert conn.requests == 3  # two throttled attempts count too
    assert sum(r["BilledCost"] for r in rows) == sum(fx.expected(fx.day_results(OCT.start, 2)).values())


def test_throttling_gives_up_after_bounded_retries(throttling: str, tmp_path: Path) -> None:
    _Throttling.fail = 100
    try:
        conn = _connector(tmp_path, endpoint=throttling, billing_account="1", max_retries=3)
        with pytest.raises(RetriableConnectorError, match="still throttled after 4 attempts"):
            conn.extract(OCT)
        assert conn.requests == 4
    finally:
        _Throttling.fail = 2
    assert Decimal(conn.requests) / 100 == Decimal("0.04")


def test_tag_and_record_type_groups(aws_env: None, tmp_path: Path) -> None:
    day = {"TimePeriod": {"Start": "2026-10-01", "End": "2026-10-02"}, "Total": {},
           "Estimated": False, "Groups": [
               {"Keys": ["tenant$acme", "Usage"],
                "Metrics": {"UnblendedCost": {"Amount": "3.5", "Unit": "USD"}}},
               {"Keys": ["tenant$", "Tax"],
                "Metrics": {"UnblendedCost": {"Amount": "0.35", "Unit": "USD"}}},
               {"Keys": ["tenant$acme", "Credit"],
                "Metrics": {"UnblendedCost": {"Amount": "-1", "Unit": "USD"}}}]}
    fx.queue([{"ResultsByTime": [day], "GroupDefinitions": []}])
    conn = _connector(tmp_path, group_by=["TAG:tenant", "RECORD_TYPE"], billing_account="1")
    rows = [r for sb in conn.extract(OCT).batches for r in sb.data.to_pylist()]
    got = {(r["ChargeCategory"], tuple(r["Tags"] or ()), r["BilledCost"]) for r in rows}
    assert got == {("Usage", (("tenant", "acme"),), Decimal("3.5")), ("Tax", (), Decimal("0.35")),
                   ("Credit", (("tenant", "acme"),), Decimal("-1"))}
