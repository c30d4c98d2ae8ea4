"""rebill.duckdb is portable: a copied home opens in DuckDB 1.4 LTS and the current
DuckDB, read-only, and every docs/analysts.md query answers the same in UTC and
in America/New_York, in both versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from rebill.config import Config
from rebill.layout import catalog_file
from rebill.normalize.catalog import refresh_catalog
from tests.docs.lts_duckdb import LTS_VERSION, lts_path, run_queries
from tests.docs.test_analyst_queries import QUERIES
from tests.unit.flows.reports.demo import build_demo

ZONES = ["UTC", "America/New_York"]


@pytest.fixture(scope="module")
def copied_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = build_demo(tmp_path_factory.mktemp("portable"))
    assert refresh_catalog(cfg.home)
    moved = tmp_path_factory.mktemp("elsewhere") / "copied-home"
    shutil.copytree(cfg.home, moved)
    shutil.rmtree(cfg.home)  # nothing may still point at the original
    return moved


@pytest.mark.slow
def test_copied_catalog_answers_alike_in_lts_and_current_duckdb(copied_home: Path) -> None:
    catalog = catalog_file(copied_home)
    current = run_queries(catalog, copied_home, QUERIES, ZONES, None)
    lts = run_queries(catalog, copied_home, QUERIES, ZONES, lts_path())
    assert current["version"] == duckdb.__version__
    assert lts["version"] == LTS_VERSION
    reference = current["zones"]["UTC"]
    assert all(rows for rows in reference), "every documented query returns rows"
    for result in (current, lts):
        for zone in ZONES:
            for i, rows in enumerate(result["zones"][zone]):
                assert rows == reference[i], (
                    f"query {i + 1} differs in DuckDB {result['version']} {zone}")


def test_costs_period_is_utc(copied_home: Path) -> None:
    con = duckdb.connect(str(catalog_file(copied_home)), read_only=True)
    try:
        con.execute("SET TimeZone = 'America/New_York'")
        con.execute(f"SET file_search_path = '{copied_home}'")
        rows = con.execute("""
            SELECT DISTINCT period, strftime(BillingPeriodStart, '%Y-%m') AS local_month
            FROM costs ORDER BY period""").fetchall()
    finally:
        con.close()
    assert rows and {p for p, _ in rows} == {"2024-09"}
    assert any(local != p for p, local in rows)  # the session's zone would have said 2024-08



@pytest.mark.slow
def test_rebill_demo_home_copied_elsewhere_opens_in_both(demo_all: Config,
                                                         tmp_path: Path) -> None:
    """The `rebill demo --all` home itself: copied, with the original moved away."""
    copied = tmp_path / "copy"
    shutil.copytree(demo_all.home, copied)
    hidden = demo_all.home.with_name(demo_all.home.name + "-away")
    demo_all.home.rename(hidden)
    try:
        current = run_queries(catalog_file(copied), copied, QUERIES, ZONES, None)
        lts = run_queries(catalog_file(copied), copied, QUERIES, ZONES, lts_path())
    finally:
        hidden.rename(demo_all.home)
    reference = current["zones"]["UTC"]
    # the demo bills no commitments: the three commitment queries are empty there
    assert sum(1 for rows in reference if rows) >= len(QUERIES) - 5
    for result in (current, lts):
        for zone in ZONES:
            assert result["zones"][zone] == reference, (result["version"], zone)
