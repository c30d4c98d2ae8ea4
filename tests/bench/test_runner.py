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


def test_focus_converter_is_not_started_where_the_month_cannot_fit() -> None:
    """A CUR size needing more than RAM and swap is "not measured", with why."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run
    finally:
        sys.path.remove(str(ROOT / "bench"))
    if not Path("/proc/meminfo").exists():
        pytest.skip("no /proc/meminfo: the runner then tries focus-converter at any size")
    assert run._memory_short(1000) == ""
    short = run._memory_short(10**9)  # a billion rows: about 3.7 TB
    assert short.startswith("focus-converter needs about 3701 GB at this size")
    assert "add swap" in short
