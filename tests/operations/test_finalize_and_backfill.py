"""Finalize before export, backfills that re-rate, and early one-line user errors."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rebill.config import Config, load_config
from rebill.errors import ExportError
from rebill.exporters.ledger import read_ledger
from rebill.exporters.run import export_period
from rebill.flows.cli import app
from rebill.flows.commands.core import run_ingest
from rebill.flows.pipeline import rate
from rebill.normalize.catalog import connect
from rebill.periods import Period
from tests.helpers import row, table

CONFIG = """
[rebill]
home = "home"
close_day = 3

[sources.files]
type = "focus"
path = "exports/*.parquet"

[[tenants]]
id = "acme"
match = [{ tag = "tenant=acme" }]
"""


def write_month(folder: Path, first: date, days: int, cost: str = "10.00",
                estimated: bool = False) -> None:
    rows = [row(first + timedelta(days=i), cost, Tags={"tenant": "acme"}, x_estimated=estimated)
            for i in range(days)]
    pq.write_table(table(rows), folder / f"{first:%Y-%m}.parquet")


def setup(tmp_path: Path, estimated: bool = False) -> tuple[Path, Config]:
    (tmp_path / "exports").mkdir()
    write_month(tmp_path / "exports", date(2024, 9, 1), 30)
    write_month(tmp_path / "exports", date(2024, 10, 1), 9, estimated=estimated)
    path = tmp_path / "rebill.toml"
    path.write_text(CONFIG)
    return path, load_config(path)


def quiet(_: str) -> None:
    pass


def statuses(cfg: Config) -> dict[str, str]:
    con = connect(cfg.home)
    return dict(con.execute("SELECT period, status FROM invoices ORDER BY 1").fetchall())


def test_open_or_estimated_period_is_refused_unless_allowed(tmp_path: Path) -> None:
    path, cfg = setup(tmp_path, estimated=True)
    run_ingest(path, None, None, None, False, "local", today=date(2024, 10, 10))
    for p in ("2024-09", "2024-10"):
        rate(cfg, Period.parse(p))
    # before its close day a month is open
    with pytest.raises(ExportError, match=r"2024-09 is still open \(it closes on 2024-10-03"):
        export_period(cfg, "2024-09", echo=quiet, today=date(2024, 10, 2))
    assert statuses(cfg) == {"2024-09": "final", "2024-10": "draft"}  # by today's clock
    assert export_period(cfg, "2024-09", echo=quiet, today=date(2024, 10, 3)).exported == ["acme"]
    # a closed month still holding estimated rows is refused, naming the source
    with pytest.raises(ExportError, match=r"2024-10 holds estimated cost rows \(files: 9\)"):
        export_period(cfg, "2024-10", echo=quiet, today=date(2024, 11, 20))
    assert statuses(cfg) == {"2024-09": "exported", "2024-10": "draft"}
    outcome = export_period(cfg, "2024-10", echo=quiet, today=date(2024, 10, 10), allow_open=True)
    assert outcome.exported == ["acme"]


def test_cli_export_refusal_is_one_line(tmp_path: Path) -> None:
    path, cfg = setup(tmp_path, estimated=True)
    run_ingest(path, None, None, None, False, "local", today=date(2024, 10, 10))
    rate(cfg, Period.parse("2024-10"))
    result = CliRunner().invoke(app, ["export", "--period", "2024-10", "--config", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: export refused: 2024-10 holds estimated cost rows (files: 9); re-ingest once "
        "the providers' invoices are final, or pass --allow-open to export it anyway"]
    allowed = CliRunner().invoke(app, ["export", "--period", "2024-10", "--allow-open",
                                       "--config", str(path)])
    assert allowed.exit_code == 0, allowed.output
    assert "1 exported" in allowed.stdout


def test_backfill_of_a_restated_exported_month_yields_correction_lines(tmp_path: Path) -> None:
    path, cfg = setup(tmp_path)
    today = date(2024, 10, 10)
    run_ingest(path, None, None, None, False, "local", today=today)
    for p in ("2024-09", "2024-10"):
        rate(cfg, Period.parse(p))
    export_period(cfg, "2024-09", echo=quiet, today=today)
    # the provider restates September: every day costs 11.00 instead of 10.00
    write_month(tmp_path / "exports", date(2024, 9, 1), 30, cost="11.00")
    report = run_ingest(path, None, date(2024, 9, 1), date(2024, 9, 30), False, "local",
                        today=today, rerate=True)
    assert [(o.period, o.status) for o in report.loads] == [("2024-09", "loaded")]
    assert report.rated == ["2024-09", "2024-10"] and not report.errors
    con = connect(cfg.home)
    corrections = con.execute(
        "SELECT period, description, amount FROM invoice_lines WHERE kind = 'correction'"
    ).fetchall()
    assert corrections == [("2024-10", "Correction 2024-09: AWS Amazon EC2", Decimal("30.00"))]
    # September's invoice went out at 300.00 and stays so; its re-rated draft says 330.00
    assert [(e.period, e.subtotal) for e in read_ledger(cfg.home)] == [("2024-09", Decimal("300.00"))]
    assert con.execute("SELECT subtotal, status FROM invoices WHERE period = '2024-09'"
                       ).fetchall() == [(Decimal("330.00"), "exported")]


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2026-11-30", "--end", "2026-09-01"],
     "error: --end 2026-09-01 is before --start 2026-11-30"),
    (["--start", "2026-09-01", "--end", "2026-09-30", "--source", "nope"],
     "error: --source: unknown source 'nope' (sources: files)"),
    (["--start", "2026-09-01", "--end", "2026-09-31"],
     "error: --end: '2026-09-31' is not a date (YYYY-MM-DD)"),
])
def test_backfill_user_errors_are_one_line_before_any_flow(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    path, _ = setup(tmp_path)
    # a server that does not exist: the error must come before anything talks to Prefect
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    result = CliRunner().invoke(app, ["backfill", *args, "--config", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [message]
    assert not (tmp_path / "home").exists()


def test_rate_takes_a_range(tmp_path: Path) -> None:
    path, _ = setup(tmp_path)
    run_ingest(path, None, None, None, False, "local", today=date(2024, 10, 10))
    result = CliRunner().invoke(app, ["rate", "--start", "2024-09", "--end", "2024-10",
                                      "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "2024-09: 30 cost rows" in result.stdout and "2024-10: 9 cost rows" in result.stdout
    bad = CliRunner().invoke(app, ["rate", "--start", "2024-10", "--end", "2024-09",
                                   "--config", str(path)])
    assert bad.exit_code == 1 and bad.stderr.splitlines() == [
        "error: --end 2024-09 is before --start 2024-10"]


def test_backfill_lines_name_empty_periods_once_and_money_at_the_minor_unit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = setup(tmp_path)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["backfill", "--start", "2024-07-01", "--end", "2024-10-31",
                                      "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "  files 2024-09: 30 rows loaded (300.00 USD)",
        "  files 2024-10: 9 rows loaded (90.00 USD)",
        "  files: no data for 2024-07, 2024-08",
        "  rated 2024-09, 2024-10",
    ]
    assert result.stderr == ""
