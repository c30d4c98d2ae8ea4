"""Bad command-line options: one line naming the option, exit non-zero, nothing stored changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.badinput.conftest import one_line, rebill, stored

# (case, arguments after the command's --config, what the line says)
OPTIONS = [
    ("start-not-a-date", ["ingest", "--engine", "local", "--start", "yesterday", "--end",
                          "2024-09-30"], "--start: 'yesterday' is not a date"),
    ("end-not-a-date", ["backfill", "--engine", "local", "--start", "2024-09-01", "--end",
                        "2024-13-01"], "--end: '2024-13-01' is not a date"),
    ("end-before-start", ["ingest", "--engine", "local", "--start", "2024-09-30", "--end",
                          "2024-09-01"], "--end 2024-09-01 is before --start 2024-09-30"),
    ("start-without-end", ["ingest", "--engine", "local", "--start", "2024-09-01"],
     "give both --start and --end"),
    ("unknown-source", ["ingest", "--engine", "local", "--source", "nope"],
     "unknown source 'nope' (sources: files)"),
    ("source-path-trick", ["ingest", "--engine", "local", "--source", "../files"],
     "unknown source '../files'"),
    ("unknown-engine", ["ingest", "--engine", "spark"], "--engine must be prefect or local"),
    ("sql-format", ["sql", "SELECT 1", "--format", "xml"], "--format must be table, csv or json"),
    ("sql-limit", ["sql", "SELECT 1", "--limit", "-5"], "--limit must be 0"),
    ("sql-syntax", ["sql", "SELEC nonsense"], "Parser Error"),
    ("sql-empty", ["sql", "  ;  "], "no statement given"),
    ("rate-period", ["rate", "--period", "24-9"], "bad period '24-9': expected YYYY-MM"),
    ("export-period", ["export", "--period", "2024-9"], "bad period '2024-9'"),
    ("report-period", ["report", "--period", "2024-09-01"], "bad period '2024-09-01'"),
]


@pytest.mark.parametrize(("case", "args", "message"), OPTIONS, ids=[o[0] for o in OPTIONS])
def test_bad_option_is_one_line(loaded: Path, case: str, args: list[str], message: str) -> None:
    home = loaded.parent / "h"
    before = stored(home)
    code, out, err = rebill(*args, "-c", str(loaded))
    assert code != 0, out
    assert message in one_line(err), err
    assert stored(home) == before


@pytest.mark.slow
@pytest.mark.prefect
def test_prefect_path_names_the_bad_file_and_loads_the_rest(loaded: Path) -> None:
    """The flow reports the same one line (file named) and still loads the healthy source."""
    base = loaded.parent
    home = base / "h"
    (base / "bad").mkdir()
    (base / "bad" / "x.parquet").write_bytes(b"")
    (base / "other").mkdir()
    shutil.copy(next((base / "exports").iterdir()), base / "other" / "o.csv")
    loaded.write_text(loaded.read_text() + '[sources.bad]\ntype = "focus"\npath = "bad/*"\n'
                      '[sources.other]\ntype = "focus"\npath = "other/*"\n')
    before = stored(home)
    code, out, err = rebill("ingest", "-c", str(loaded), "--engine", "prefect")
    assert code == 1
    failed = [ln for ln in err.splitlines() if "FAILED" in ln]
    assert len(failed) == 1, err
    assert f"bad -: FAILED: source bad: {base / 'bad' / 'x.parquet'}" in failed[0]
    assert "too small to be a Parquet file" in failed[0]
    assert "other 2024-09: 999 rows loaded" in out, out
    assert "Traceback" not in err
    after = stored(home)
    assert not any("source=bad" in k for k in after)
    assert after["state/exports.parquet"] == before["state/exports.parquet"]
