"""The nightly run with a frozen clock walked across a month end."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rebill.atomic import home_lock
from rebill.config import Config, load_config
from rebill.errors import LockedError
from rebill.flows.nightly import run_nightly
from rebill.flows.pipeline import load_one
from rebill.normalize.catalog import connect
from tests.helpers import row, table

pytestmark = pytest.mark.slow  # seconds each: Prefect, subprocesses or many examples

CONFIG = """
[rebill]
home = "home"
close_day = 3
export_to = "file"

[sources.files]
type = "focus"
path = "exports/*.parquet"
{extra}
[[tenants]]
id = "acme"
markup = "10%"
match = [{{ tag = "tenant=acme" }}]

[[tenants]]
id = "globex"
match = [{{ tag = "tenant=globex" }}]
"""


def month_rows(first: date, days: int) -> list[dict]:
    rows = []
    for i in range(days):
        day = first + timedelta(days=i)
        rows.append(row(day, "10.00", Tags={"tenant": "acme"}))
        rows.append(row(day, "2.50", Tags={"tenant": "globex"}))
    return rows


def setup(tmp_path: Path, extra: str = "") -> Config:
    (tmp_path / "exports").mkdir()
    pq.write_table(table(month_rows(date(2026, 10, 1), 31)), tmp_path / "exports" / "oct.parquet")
    pq.write_table(table(month_rows(date(2026, 11, 1), 6)), tmp_path / "exports" / "nov.parquet")
    path = tmp_path / "rebill.toml"
    path.write_text(CONFIG.format(extra=extra))
    return load_config(path)


def night(cfg: Config, today: date):
    return run_nightly(cfg, today, lambda pairs: [load_one(cfg, s, p, today) for s, p in pairs],
                       echo=lambda _: None)


def test_walk_across_month_end_exports_closed_month_once(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    notes = {}
    for offset in range(9):  # 2026-10-29 .. 2026-11-06
        today = date(2026, 10, 29) + timedelta(days=offset)
        report = night(cfg, today)
        assert report.ok, report.errors
        notes[today] = (report.exported, report.export_note, tuple(report.rated),
                        tuple(report.unchanged))
    assert [d for d, (exported, *_) in notes.items() if exported] == [date(2026, 11, 3)]
    assert notes[date(2026, 11, 1)][2] == ("2026-11",)  # its first data
    # still open, but nothing new since the night before: not re-rated
    assert notes[date(2026, 11, 2)][2:] == ((), ("2026-10", "2026-11"))
    # the ledger changed (October exported on the 3rd): November's corrections may change
    assert notes[date(2026, 11, 4)][2] == ("2026-11",)
    assert "already exported" in notes[date(2026, 11, 6)][1]
    con = connect(cfg.home)
    ledger = con.execute("SELECT tenant_id, period, target FROM read_parquet(?) ORDER BY 1",
                         [str(cfg.home / "state" / "exports.parquet")]).fetchall()
    assert ledger == [("acme", "2026-10", "file"), ("globex", "2026-10", "file")]
    invoices = con.execute("SELECT tenant_id, subtotal, status FROM invoices "
                           "WHERE period = '2026-10' ORDER BY 1").fetchall()
    from decimal import Decimal
    assert invoices == [("acme", Decimal("341.00"), "exported"),
                        ("globex", Decimal("77.50"), "exported")]
    assert sorted(p.name for p in (cfg.home / "exports" / "2026-10").iterdir()) == [
        "acme.csv", "acme.json", "globex.csv", "globex.json"]


def test_failing_source_is_isolated_and_blocks_export(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.csv").write_text("BilledCost,ServiceName\n1,a\n")
    cfg = setup(tmp_path, '\n[sources.broken]\ntype = "focus"\npath = "broken/*.csv"\n')
    report = night(cfg, date(2026, 11, 3))
    assert not report.ok
    assert any("broken" in e for e in report.errors)
    loaded = {(o.source, o.period, o.status) for o in report.loads}
    assert ("files", "2026-10", "loaded") in loaded and ("files", "2026-11", "loaded") in loaded
    # the good source's data was rated all the same
    assert report.rated == ["2026-10", "2026-11"]


def test_second_concurrent_run_exits_clearly(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    with (home_lock(cfg.home, "nightly"),
          pytest.raises(LockedError, match="another rebill run"),
          home_lock(cfg.home, "nightly")):
        pass
