"""A DuckDB of the 1.x LTS line beside the project's, for catalog portability tests.

``duckdb==LTS_VERSION`` is installed once with pip into ``.cache/`` of the
repository (git-ignored; CI's clone installs it on its first run) and run in a
subprocess with that folder first on ``PYTHONPATH``. When the package registry
cannot be reached the tests using it skip, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

LTS_VERSION = "1.4.5"
CACHE = REPO / ".cache" / f"duckdb-{LTS_VERSION}"

# Runs the queries of argv[3] (a JSON list) against the catalog argv[1] read-only,
# with file_search_path = argv[2]; prints, per time zone, per query, the rows as
# JSON text (instants in UTC ISO-8601, decimals exact).
RUNNER = r"""
import datetime, decimal, json, sys
import duckdb
catalog, home, queries, zones = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
def norm(v):
    if isinstance(v, datetime.datetime) and v.tzinfo is not None:
        return v.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(v, (datetime.date, decimal.Decimal)):
        return str(v)
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    return v
out = {"version": duckdb.__version__, "zones": {}}
for zone in zones:
    con = duckdb.connect(catalog, read_only=True)
    con.execute(f"SET TimeZone = '{zone}'")
    con.execute("SET file_search_path = '" + home.replace("'", "''") + "'")
    out["zones"][zone] = [[norm(list(r)) for r in con.execute(q).fetchall()] for q in queries]
    con.close()
print(json.dumps(out))
"""


def lts_path() -> Path:
    """The folder holding ``duckdb`` LTS_VERSION (installed on first use), or skip."""
    if (CACHE / "duckdb" / "__init__.py").exists():
        return CACHE
    tmp = CACHE.with_name(CACHE.name + f".tmp-{os.getpid()}")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-deps", "--target", str(tmp), f"duckdb=={LTS_VERSION}"],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        text = (proc.stderr or proc.stdout).strip().splitlines()
        pytest.skip(f"duckdb=={LTS_VERSION} could not be installed from the package registry: "
                    f"{text[-1] if text else 'no output'}")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(CACHE)
    except OSError:  # another test worker installed it first
        shutil.rmtree(tmp, ignore_errors=True)
    return CACHE


def run_queries(catalog: Path, home: Path, queries: list[str], zones: list[str],
                duckdb_path: Path | None) -> dict[str, Any]:
    """Run ``queries`` in each zone with the project's DuckDB, or the one at ``duckdb_path``."""
    env = {**os.environ}
    if duckdb_path is not None:
        env["PYTHONPATH"] = str(duckdb_path)
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(catalog), str(home), json.dumps(queries), *zones],
        capture_output=True, text=True, env=env, check=False, cwd="/")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
