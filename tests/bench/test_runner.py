"""The benchmark runner works end to end at 100k rows (figures are not asserted: no timed tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_runner_produces_its_table(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--rows", "100000",
                    "--tenants", "20", "--no-cur", "--repeat", "1", "--out", str(tmp_path)],
                   check=True, capture_output=True, text=True, timeout=1800)
    table = (tmp_path / "results.md").read_text()
    steps = json.loads((tmp_path / "results.json").read_text())
    names = [s["name"] for s in steps]
    for expected in ("bare DuckDB read+transform+write", "rebill ingest", "bare DuckDB group-by",
                     "rebill rate", "no-op re-ingest"):
        assert expected in names
        assert f"| 100k | {expected} |" in table
    assert any(n.startswith("no-op nightly (0 of ") for n in names)
    assert all(s["seconds"] > 0 and s["peak_mb"] > 0 and s["rows"] == 100_000 for s in steps)
    ratios = {s["name"]: s["ratio"] for s in steps if s["ratio"] is not None}
    assert set(ratios) == {"rebill ingest", "rebill rate"}
