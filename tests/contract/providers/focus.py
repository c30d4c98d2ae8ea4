from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.periods import Period
from tests.conftest import SAMPLES
from tests.contract.case import ContractCase


@contextmanager
def case(tmp_path: Path) -> Iterator[ContractCase]:
    files = tmp_path / "exports"
    files.mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", files / "a.csv")
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2024, 10, 3))
    conn = build("files", {"type": "focus", "path": "exports/*.csv"}, ctx)
    yield ContractCase(conn, Period(date(2024, 9, 1)), min_rows=999)
