"""The wheel is a product: built from the checkout, installed alone in a fresh venv,
it runs its own demo from an unrelated folder, and holds nothing but ``rebill/``."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(args, check=False, cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"{args}: {out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build from a copy of the tracked files (a stale ``build/`` can never leak in)."""
    src = tmp_path_factory.mktemp("src")
    files = _run(["git", "ls-files", "-co", "--exclude-standard"], REPO).split()
    for name in files:
        source = REPO / name
        if source.is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(source.read_bytes())
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "uv", "build", "--wheel", "-q", "-o", str(out), str(src)], src)
    [found] = out.glob("rebill-*.whl")
    return found


def test_wheel_holds_only_the_rebill_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"rebill", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    for needed in ("rebill/flows/cli.py", "rebill/connectors/aws/cur_mapping.sql",
                   "rebill/flows/reports/templates/statement.html", "rebill/data/demo/rebill.toml",
                   "rebill/data/samples/focus/focus_1.0_sample_1000rows.csv", "rebill/py.typed"):
        assert needed in names, needed


def test_fresh_venv_with_only_the_wheel_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(UV_COMPILE_BYTECODE="1", PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    # the same pins as the project's lock; uv's cache makes this quick after the first time
    _run([sys.executable, "-m", "uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
          str(wheel), "-c", str(REPO / "requirements.lock")], tmp_path, env)
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    rebill = str(venv / "bin" / "rebill")
    assert _run([rebill, "--version"], elsewhere, env).startswith("rebill ")
    _run([rebill, "demo"], elsewhere, env)
    totals = _run([rebill, "sql", "SELECT count(*) FROM invoice_lines"], elsewhere, env)
    assert any(ch.isdigit() and ch != "0" for ch in totals), totals
    assert (elsewhere / "rebill-demo" / "rebill.duckdb").exists()
