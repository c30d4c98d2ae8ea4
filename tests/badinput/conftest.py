"""The bad-input corpus: each case is one line naming where, and stored data untouched.

``loaded`` is a home with one FOCUS source already ingested; ``stored(home)``
fingerprints what must never change when a bad input is refused: every lake
partition, every rated period and the export ledger.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rebill.flows.cli import app
from tests.conftest import SAMPLES

runner = CliRunner()
FOCUS_SAMPLE = SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv"


def rebill(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def stored(home: Path) -> dict[str, str]:
    """sha256 of every stored file that a refused input must leave as it was."""
    out = {}
    for sub in ("lake", "rated", "state/exports.parquet"):
        root = home / sub
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            out[str(f.relative_to(home))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="session")
def loaded_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("loaded")
    (base / "exports").mkdir()
    shutil.copy(FOCUS_SAMPLE, base / "exports")
    cfg = base / "rebill.toml"
    cfg.write_text('[rebill]\nhome = "h"\n[sources.files]\ntype = "focus"\n'
                   'path = "exports/*.csv"\n')
    code, out, err = rebill("ingest", "--config", str(cfg), "--engine", "local")
    assert code == 0, out + err
    return base


@pytest.fixture
def loaded(loaded_once: Path, tmp_path: Path) -> Path:
    """A config file whose home already holds the FOCUS sample (source ``files``)."""
    shutil.copytree(loaded_once, tmp_path / "w")
    return tmp_path / "w" / "rebill.toml"


Stored = Callable[[Path], dict[str, str]]
