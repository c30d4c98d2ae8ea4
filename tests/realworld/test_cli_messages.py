"""What a user sees: refusals are one line and non-zero, money is never ``0E-12``."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from rebill.flows.cli import app
from tests.conftest import SAMPLES
from tests.realworld.test_focus_variants import sample, spreadsheet, write_csv

runner = CliRunner()


def config(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "rebill.toml"
    path.write_text('[rebill]\nhome = "h"\n[sources.files]\ntype = "focus"\n'
                    f'path = "exports/*.csv"\n{extra}')
    return str(path)


def rebill(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_no_rows_in_range_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "exports")
    code, _, err = rebill("ingest", "-c", config(tmp_path), "--engine", "local",
                            "--start", "2026-10-01", "--end", "2026-10-31")
    assert code == 1
    lines = [ln for ln in err.splitlines() if "FAILED" in ln]
    assert len(lines) == 1
    assert "no rows in the requested range" in lines[0]
    assert "focus_1.0_sample_1000rows.csv: 2024-09, 2024-10" in lines[0]


def test_spreadsheet_file_refused_then_accepted_when_declared(tmp_path: Path) -> None:
    header, data = sample()
    write_csv(tmp_path / "exports" / "saved.csv", header, spreadsheet(data))
    code, out, err = rebill("ingest", "-c", config(tmp_path), "--engine", "local")
    assert code == 1
    failed = [ln for ln in err.splitlines() if "FAILED" in ln]
    assert len(failed) == 1 and "saved.csv, row 2, column" in failed[0]
    layout = ('datetime_format = "%m/%d/%Y %H:%M"\nthousands_separator = ","\n'
              'currency_symbol = "$"\n')
    code, out, err = rebill("ingest", "-c", config(tmp_path, layout), "--engine", "local")
    assert code == 0, err
    assert re.search(r"files 2024-09: 999 rows loaded \(\d+\.\d{2} USD; 7 values had digits "
                     r"beyond 12 decimals", out), out


def test_zero_is_never_0e_minus_12(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "exports")
    cfg = config(tmp_path)
    assert rebill("ingest", "-c", cfg, "--engine", "local")[0] == 0
    code, out, _ = rebill("sql", "SELECT sum(BilledCost) - sum(BilledCost) AS z FROM costs",
                          "-c", cfg, "-f", "json")
    assert code == 0 and json.loads(out) == [{"z": "0.000000000000"}]
    code, out, _ = rebill("sql", "SELECT sum(BilledCost) - sum(BilledCost) AS z FROM costs",
                          "-c", cfg)
    assert "E-12" not in out and "0.000000000000" in out
