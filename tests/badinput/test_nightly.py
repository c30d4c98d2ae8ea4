"""The nightly with one corrupt file: that source fails in one line naming the file, the
others load and are rated, and the closed period is not exported while it is incomplete."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.badinput.test_data import mutated, truncated
from tests.integration.test_nightly import night, setup


def _zero(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize(("name", "make", "said"), [
    ("x.parquet", _zero, "too small to be a Parquet file"),
    ("x.parquet", truncated, "x.parquet"),
])
def test_corrupt_file_blocks_only_its_source_and_the_closed_export(
        tmp_path: Path, name: str, make: object, said: str) -> None:
    (tmp_path / "broken").mkdir()
    make(tmp_path / "broken" / name)  # type: ignore[operator]
    cfg = setup(tmp_path, '\n[sources.broken]\ntype = "focus"\npath = "broken/*"\n')
    report = night(cfg, date(2026, 11, 3))
    assert not report.ok and report.exported is None
    errors = [e for e in report.errors if "broken" in e and "ingest" in e]
    assert len(errors) == 1 and said in errors[0] and str(tmp_path / "broken") in errors[0]
    assert all("\n" not in e and "Traceback" not in e for e in report.errors)
    loaded = {(o.source, o.period, o.status) for o in report.loads}
    assert ("files", "2026-10", "loaded") in loaded
    assert report.rated == ["2026-10", "2026-11"]
    assert not (cfg.home / "exports" / "2026-10").exists()


def test_bad_value_in_a_source_fails_it_in_one_line_and_holds_the_closed_export(
        tmp_path: Path) -> None:
    """A FOCUS file is checked whole when its periods are listed (a bad cell could hide
    which period a row belongs to): the source fails in one line naming file, row and
    column, the healthy source still loads, and the closed month waits for a good night."""
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.csv").write_bytes(mutated(Tags="{oops"))  # rows of 2024-09
    cfg = setup(tmp_path, '\n[sources.broken]\ntype = "focus"\npath = "broken/*"\n')
    report = night(cfg, date(2026, 11, 3))
    failed = [e for e in report.errors if e.startswith("ingest broken")]
    assert len(failed) == 1 and "row 3, column Tags" in failed[0] and "x.csv" in failed[0]
    assert "2026-10 not exported: sources broken failed" in report.errors[-1]
    assert report.exported is None
    assert any(o.source != "broken" and o.status != "failed" for o in report.loads)
