"""docs/analysts.md: every view is documented column by column, and every query runs.

The catalog is built like the demo: the bundled FOCUS sample plus a small
spiky source, ingested through the real connector and lake writer, rated by
the rating engine (or by the tests' stand-in when rating is not there), then
opened the way an analyst does: ``rebill.duckdb`` read-only.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from rebill.layout import catalog_file
from rebill.normalize.catalog import VIEW_NAMES, refresh_catalog
from tests.conftest import REPO
from tests.unit.flows.reports.demo import build_demo

DOC = REPO / "docs" / "analysts.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = build_demo(tmp_path_factory.mktemp("analysts"))
    assert refresh_catalog(cfg.home)
    return catalog_file(cfg.home)


def test_at_least_ten_queries() -> None:
    assert len(QUERIES) >= 10


def _section(view: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"^### `{view}`.*?(?=^### |^## )", text, flags=re.S | re.M)
    assert match, f"docs/analysts.md has no section for view {view}"
    return match.group(0)


@pytest.mark.parametrize("view", VIEW_NAMES)
def test_every_view_documented_column_by_column(view: str, catalog: Path) -> None:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        con.execute(f"SET file_search_path = '{catalog.parent}'")
        columns = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
    finally:
        con.close()
    section = _section(view)
    missing = [c for c in columns if not re.search(rf"\b{re.escape(c)}\b", section)]
    assert not missing, f"{view}: columns not documented: {missing}"


@pytest.mark.parametrize("query", QUERIES, ids=[f"query{i + 1}" for i in range(len(QUERIES))])
def test_documented_query_runs_and_returns_rows(query: str, catalog: Path) -> None:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET file_search_path = '{catalog.parent}'")
        rows = con.execute(query).fetchall()
    finally:
        con.close()
    assert rows, f"no rows from:\n{query}"
