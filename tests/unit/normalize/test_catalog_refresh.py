"""Analysts are never blocked: read-only opens of ``rebill.duckdb`` in another process
never fail while runs refresh the catalog, and killed runs' staging is cleaned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rebill.layout import catalog_file
from rebill.normalize.catalog import ensure_layout, refresh_catalog

OPENER = r"""
import sys, duckdb
from pathlib import Path
path, stop = sys.argv[1], Path(sys.argv[2])
opens = failures = 0
first_error = ""
print("ready", flush=True)
while not stop.exists() or opens < 50:
    try:
        con = duckdb.connect(path, read_only=True)
        con.execute("SET file_search_path = '" + str(Path(path).parent) + "'")
        con.execute("SELECT count(*) FROM costs").fetchall()
        con.close()
        opens += 1
    except duckdb.Error as err:
        failures += 1
        first_error = first_error or str(err).splitlines()[0]
print(opens, failures, first_error, flush=True)
"""


@pytest.mark.slow
def test_read_only_opens_never_fail_during_refreshes(home: Path, tmp_path: Path) -> None:
    ensure_layout(home)
    refresh_catalog(home)
    stop = tmp_path / "stop"
    proc = subprocess.Popen([sys.executable, "-c", OPENER, str(catalog_file(home)), str(stop)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        for _ in range(40):
            assert refresh_catalog(home)
        stop.touch()
        opens, failures, *error = proc.stdout.readline().split(" ", 2)
    finally:
        stop.touch()
        proc.wait(timeout=120)
        if proc.stdout is not None:
            proc.stdout.close()
    assert int(opens) >= 50
    assert int(failures) == 0, error
    leftovers = [p.name for p in home.iterdir() if p.name.startswith(".rebill.duckdb")]
    assert leftovers == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_staging_of_killed_runs_is_cleaned(home: Path) -> None:
    import os

    from rebill.atomic import clean_stale_staging, temp_path
    from rebill.layout import tmp_dir

    dead, alive = _dead_pid(), os.getpid()
    tmp = tmp_dir(home)
    stale = tmp / f"rated-2024-09-{dead}"
    (stale / "x").mkdir(parents=True)
    (stale / "x" / "rated_costs.parquet").write_bytes(b"half")
    live = tmp / f"rated-2024-10-{alive}"
    live.mkdir()
    part = tmp / "lake" / "source=s" / "billing_period=2024-09"
    part.mkdir(parents=True)
    stale_file = part / f".part-0.parquet.tmp-{dead}-0123abcd"
    stale_file.write_bytes(b"half")
    live_file = temp_path(part / "part-0.parquet")
    live_file.write_bytes(b"writing")
    download = tmp / f"cur-src-0123456789abcdef-data-{dead}"  # not a staging name: kept
    download.write_bytes(b"x")
    removed = clean_stale_staging(tmp)
    assert sorted(removed) == sorted([stale, stale_file])
    assert live.exists() and live_file.exists() and download.exists() and part.exists()


def test_a_rating_run_cleans_what_a_killed_one_left(tmp_path: Path) -> None:
    from tests.badinput.conftest import rebill

    cfg = tmp_path / "rebill.toml"
    cfg.write_text('[rebill]\nhome = "h"\n[[tenants]]\nid = "acme"\n')
    stale = tmp_path / "h" / "tmp" / f"rated-2024-09-{_dead_pid()}"
    stale.mkdir(parents=True)
    code, out, err = rebill("rate", "--period", "2024-09", "-c", str(cfg))
    assert code == 0, out + err
    assert not stale.exists()
