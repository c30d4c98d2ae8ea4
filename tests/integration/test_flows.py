"""The Prefect flows themselves (embedded test server)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rebill.config import load_config
from rebill.normalize.catalog import connect
from tests.conftest import SAMPLES

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_ingest_and_overlapping_backfill(harness: None, tmp_path: Path) -> None:
    from rebill.flows.ingest import backfill_flow, ingest_flow

    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "exports")
    cfg_path = tmp_path / "rebill.toml"
    cfg_path.write_text('[sources.files]\ntype = "focus"\npath = "exports/*.csv"\n')
    outcomes = ingest_flow(config_path=str(cfg_path), today=date(2024, 10, 3))
    assert sorted((o.period, o.status, o.rows) for o in outcomes) == [
        ("2024-09", "loaded", 999), ("2024-10", "loaded", 1)]
    again = backfill_flow(start=date(2024, 9, 1), end=date(2024, 10, 31),
                          config_path=str(cfg_path), today=date(2024, 10, 3))
    assert {o.status for o in again} == {"unchanged"}
    home = load_config(cfg_path).home
    assert connect(home).execute("SELECT count(*) FROM costs").fetchall() == [(1000,)]
    assert (home / "rebill.duckdb").exists()
