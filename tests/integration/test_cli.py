from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rebill.flows.cli import app
from tests.conftest import REPO, SAMPLES

runner = CliRunner()


@pytest.fixture
def cfg_path(tmp_path: Path) -> Path:
    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "exports")
    path = tmp_path / "rebill.toml"
    path.write_text('[rebill]\nhome = "h"\n[sources.files]\ntype = "focus"\npath = "exports/*.csv"\n')
    return path


def rebill(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_ingest_then_sql_formats(cfg_path: Path) -> None:
    code, out, _ = rebill("ingest", "--config", str(cfg_path), "--engine", "local")
    assert code == 0, out
    assert "files 2024-09: 999 rows loaded" in out
    code, out, _ = rebill("sql", "SELECT ProviderName, sum(BilledCost) AS c FROM costs "
                          "GROUP BY 1 ORDER BY 1", "--config", str(cfg_path), "--format", "json")
    assert code == 0
    got = {r["ProviderName"]: Decimal(r["c"]) for r in json.loads(out)}
    assert got["Oracle"] == Decimal("0.537073924730")
    code, out, _ = rebill("sql", "SELECT count(*) AS n FROM costs", "-c", str(cfg_path),
                          "-f", "csv")
    assert out.strip().splitlines() == ["n", "1000"]
    code, out, _ = rebill("sql", "SELECT count(*) AS n FROM costs", "-c", str(cfg_path))
    assert "1000" in out and "(1 row)" in out
    # a second ingest adds nothing
    code, out, _ = rebill("ingest", "--config", str(cfg_path), "--engine", "local")
    assert "unchanged" in out
    code, out, _ = rebill("backfill", "--start", "2024-08-15", "--end", "2024-10-31",
                          "--config", str(cfg_path), "--engine", "local")
    assert code == 0 and "unchanged" in out
    code, out, _ = rebill("sql", "SELECT count(*) FROM costs", "-c", str(cfg_path), "-f", "csv")
    assert out.strip().splitlines()[1] == "1000"


@pytest.mark.parametrize("query", ["DROP VIEW costs", "CREATE TABLE x (a INT)",
                                   "COPY (SELECT 1) TO '/tmp/x.csv'", "SELECT 1; DELETE FROM x"])
def test_sql_is_read_only(cfg_path: Path, query: str) -> None:
    code, _, err = rebill("sql", query, "--config", str(cfg_path))
    assert code == 1
    assert "read-only" in err and len(err.strip().splitlines()) == 1


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "rebill.toml"
    bad.write_text('[rebill]\ncurency = "EUR"\n')
    code, _, err = rebill("check", "--config", str(bad))
    assert code == 1
    assert err.strip().splitlines() == [f"error: {bad}: rebill.curency: unknown key"]
    code, _, err = rebill("sql", "SELEC nonsense", "--config", str(bad))
    assert code == 1 and "Traceback" not in err
    code, _, err = rebill("ingest", "--config", str(tmp_path / "missing.toml"))
    assert code == 1 and "config file not found" in err


def test_unknown_source_is_clear(cfg_path: Path) -> None:
    code, _, err = rebill("ingest", "-c", str(cfg_path), "--source", "nope", "--engine", "local")
    assert code == 1 and "unknown source 'nope' (sources: files)" in err


def test_every_command_is_documented_in_readme() -> None:
    readme = (REPO / "README.md").read_text()
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]
    assert commands
    for name in commands:
        assert re.search(rf"rebill {name}\b", readme), f"README does not document `rebill {name}`"
        code, out, _ = rebill(name, "--help")
        assert code == 0 and "--config" in out
