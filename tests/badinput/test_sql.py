"""``rebill sql`` can never write: every write path is refused in one line.

Each case also checks the lake partitions, rated outputs and export ledger
are byte-identical afterwards and that no file appeared anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.badinput.conftest import one_line, rebill, stored


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# (case, query, part of the one-line message)
WRITES = [
    ("copy", "COPY (SELECT 1 AS a) TO '{home}/lake/costs/x.parquet'", "COPY statements are refused"),
    ("copy-outside", "COPY (SELECT 1 AS a) TO '{tmp}/out.csv'", "COPY statements are refused"),
    ("copy-from", "COPY costs FROM '{tmp}/exports/focus_1.0_sample_1000rows.csv'",
     "COPY statements are refused"),
    ("explain-analyze-copy",
     "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{home}/lake/costs/x.parquet'", "EXPLAIN ANALYZE"),
    ("explain-analyse-select", "explain analyse SELECT 1", "EXPLAIN ANALYZE"),
    ("explain-options-analyze",
     "EXPLAIN (ANALYZE, FORMAT json) COPY (SELECT 1) TO '{tmp}/x.csv'", "EXPLAIN ANALYZE"),
    ("comment-explain-analyze", "/* hi */ EXPLAIN -- x\n ANALYZE COPY (SELECT 1) TO '{tmp}/x.csv'",
     "EXPLAIN ANALYZE"),
    ("explain-copy", "EXPLAIN COPY (SELECT 1) TO '{tmp}/x.csv'", "EXPLAIN of a COPY"),
    ("explain-create", "EXPLAIN CREATE TABLE t AS SELECT 1", "EXPLAIN of a CREATE"),
    ("attach", "ATTACH '{home}/evil.duckdb' AS evil", "ATTACH statements are refused"),
    ("detach", "DETACH memory", "DETACH statements are refused"),
    ("install", "INSTALL httpfs", "statements are refused"),
    ("load", "LOAD httpfs", "LOAD statements are refused"),
    ("create-table", "CREATE TABLE t (a INT)", "CREATE statements are refused"),
    ("create-view", "CREATE OR REPLACE VIEW costs AS SELECT 1", "CREATE statements are refused"),
    ("insert", "INSERT INTO costs SELECT * FROM costs", "INSERT statements are refused"),
    ("update", "UPDATE costs SET BilledCost = 0", "UPDATE statements are refused"),
    ("delete", "DELETE FROM costs", "DELETE statements are refused"),
    ("drop", "DROP VIEW costs", "DROP statements are refused"),
    ("set-external", "SET enable_external_access = true", "SET statements are refused"),
    ("reset", "RESET allowed_directories", "statements are refused"),
    ("pragma", "PRAGMA memory_limit='1TB'", "statements are refused"),
    ("call", "CALL pragma_version()", "CALL statements are refused"),
    ("export", "EXPORT DATABASE '{tmp}/dump'", "EXPORT statements are refused"),
    ("checkpoint", "CHECKPOINT", "statements are refused"),
    ("second-statement", "SELECT 1; COPY (SELECT 1) TO '{tmp}/x.csv'", "COPY statements are refused"),
    ("transaction", "BEGIN TRANSACTION", "statements are refused"),
]


@pytest.mark.parametrize(("case", "query", "message"), WRITES, ids=[w[0] for w in WRITES])
def test_sql_write_paths_are_refused(loaded: Path, case: str, query: str, message: str) -> None:
    home = loaded.parent / "h"
    before, files = stored(home), _all_files(loaded.parent)
    code, out, err = rebill("sql", query.format(home=home, tmp=loaded.parent), "-c", str(loaded))
    assert code == 1, out
    assert message in one_line(err), err
    assert stored(home) == before
    assert _all_files(loaded.parent) == files


@pytest.mark.parametrize("query", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_csv('{tmp}/exports/focus_1.0_sample_1000rows.csv')",
    "SELECT * FROM query('COPY (SELECT 1) TO ''{home}/x.csv''')",
])
def test_sql_reads_nothing_outside_the_home(loaded: Path, query: str) -> None:
    home = loaded.parent / "h"
    code, out, err = rebill("sql", query.format(home=home, tmp=loaded.parent), "-c", str(loaded))
    assert code == 1, out
    one_line(err)
    assert not (home / "x.csv").exists()


def test_sql_reads_views_describe_and_explain(loaded: Path) -> None:
    for query in ("SELECT count(*) FROM costs", "DESCRIBE costs", "SHOW TABLES",
                  "EXPLAIN SELECT count(*) FROM costs", "WITH c AS (FROM costs) SELECT 1 FROM c"):
        code, _, err = rebill("sql", query, "-c", str(loaded))
        assert code == 0, err


def test_sql_limit_cuts_and_says_so(loaded: Path) -> None:
    code, out, err = rebill("sql", "SELECT * FROM range(2500) t(i)", "-c", str(loaded))
    assert code == 0 and "(1000 rows)" in out
    assert "first 1000 rows shown" in err
    code, out, err = rebill("sql", "SELECT * FROM range(2500) t(i)", "-c", str(loaded),
                            "-f", "csv", "--limit", "0")
    assert code == 0 and len(out.strip().splitlines()) == 2501 and err == ""
    code, out, err = rebill("sql", "SELECT * FROM range(5) t(i)", "-c", str(loaded),
                            "-f", "json", "--limit", "3")
    import json

    assert [r["i"] for r in json.loads(out)] == [0, 1, 2] and "first 3 rows" in err
    code, _, err = rebill("sql", "SELECT 1", "-c", str(loaded), "--limit", "-1")
    assert code == 1 and "--limit" in one_line(err)
