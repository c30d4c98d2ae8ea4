"""Skipping an unchanged period: the inputs fingerprint (rating.inputs) and rate_if_changed."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rebill.datasets import EXPORTS
from rebill.errors import RatingError
from rebill.exporters.ledger import exported_lines_file
from rebill.flows.pipeline import rate, rate_if_changed
from rebill.layout import exports_file, partition_file, rated_dir
from rebill.periods import Period
from rebill.rating.inputs import (
    EXPORTED_LINES,
    INPUTS_FILE,
    input_fingerprint,
    stored_fingerprint,
)
from tests.unit.rating.lakebuild import make_config, row, tenant, write_lake

P = Period.parse("2026-10")
FX = "date,base,quote,rate\n2026-10-01,USD,EUR,0.9\n"
ROWS = [row("2026-10-01", "10.00", SubAccountId="A"), row("2026-10-02", "4.00", SubAccountId="B")]


def _data(markup: str = "10%") -> dict[str, Any]:
    return {"tenants": [tenant("a", {"account": "A"}, markup=markup),
                        tenant("b", {"account": "B"}, currency="EUR")],
            "fx": {"path": "fx.csv"}}


def _home(tmp_path: Path) -> Any:
    (tmp_path / "fx.csv").write_text(FX)
    cfg = make_config(tmp_path, _data())
    write_lake(cfg.home, ROWS)
    return cfg


def _stamps(folder: Path) -> dict[str, int]:
    return {f.name: f.stat().st_mtime_ns for f in folder.iterdir()}


def test_a_second_rate_of_unchanged_inputs_reads_and_writes_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = _home(tmp_path)
    assert rate_if_changed(cfg, P) is not None  # never rated: rated
    folder = rated_dir(cfg.home, P.label)
    assert (folder / INPUTS_FILE).exists()
    assert stored_fingerprint(cfg.home, P) == input_fingerprint(cfg, P, corrections=True)
    before = _stamps(folder)
    with caplog.at_level(logging.INFO, logger="rebill.ingest"):
        assert rate_if_changed(cfg, P) is None
    assert "rate 2026-10: unchanged, skipped" in caplog.messages
    assert _stamps(folder) == before
    # an explicit rate always rates (a new folder)
    rate(cfg, P)
    assert _stamps(folder) != before
    assert rate_if_changed(cfg, P) is None


def _rewrite_lake(cfg: Any) -> None:
    write_lake(cfg.home, [*ROWS, row("2026-10-03", "1.00", SubAccountId="A")])


def _touch_lake(cfg: Any) -> None:  # same bytes, new mtime: rated again (cheap to be safe)
    path = partition_file(cfg.home, "src", P.label)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _fx(cfg: Any) -> None:
    (cfg.base_dir / "fx.csv").write_text(FX + "2026-10-02,USD,EUR,0.95\n")


def _ledger(cfg: Any) -> None:
    entry = {"target": "file", "tenant_id": "a", "period": "2026-09", "key": "rebill:a:2026-09",
             "external_id": "x", "lines_hash": "h", "subtotal": Decimal("1.00"),
             "currency": "USD", "exported_at": datetime(2026, 10, 2, tzinfo=UTC)}
    pq.write_table(pa.Table.from_pylist([entry], schema=EXPORTS), exports_file(cfg.home))


@pytest.mark.parametrize("change", [_rewrite_lake, _touch_lake, _fx, _ledger])
def test_a_changed_input_is_rated_again(tmp_path: Path, change: Any) -> None:
    cfg = _home(tmp_path)
    rate_if_changed(cfg, P)
    old = stored_fingerprint(cfg.home, P)
    change(cfg)
    assert rate_if_changed(cfg, P) is not None
    assert stored_fingerprint(cfg.home, P) not in (None, old)
    assert rate_if_changed(cfg, P) is None


def test_a_changed_config_is_rated_again(tmp_path: Path) -> None:
    cfg = _home(tmp_path)
    rate_if_changed(cfg, P)
    other = make_config(tmp_path, _data(markup="20%"))
    result = rate_if_changed(other, P)
    assert result is not None
    assert [ln.amount for ln in result.lines if ln.tenant_id == "a"] == [Decimal("12.00")]
    assert rate_if_changed(other, P) is None
    assert rate_if_changed(cfg, P) is not None  # and back


def test_a_failed_rating_keeps_the_old_outputs_and_fingerprint(tmp_path: Path) -> None:
    cfg = _home(tmp_path)
    rate_if_changed(cfg, P)
    folder = rated_dir(cfg.home, P.label)
    old, before = stored_fingerprint(cfg.home, P), _stamps(folder)
    write_lake(cfg.home, [*ROWS, row("2026-10-20", "1.00", SubAccountId="B")])  # no FX then
    with pytest.raises(RatingError, match="no FX rate USD->EUR for 2026-10-20"):
        rate_if_changed(cfg, P)
    assert stored_fingerprint(cfg.home, P) == old and _stamps(folder) == before
    with pytest.raises(RatingError):  # never skipped while the inputs differ
        rate_if_changed(cfg, P)


def test_the_exported_lines_file_is_the_ledgers(tmp_path: Path) -> None:
    assert exported_lines_file(tmp_path).name == EXPORTED_LINES
