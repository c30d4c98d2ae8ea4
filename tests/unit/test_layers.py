"""The layer contracts (pyproject.toml, run by ``lint-imports`` in ./dev test) hold,
cover every core module, and really fail on a wrong-way import."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=300)


def test_every_core_module_is_in_the_core_contract() -> None:
    [core] = [c for c in CONTRACTS if c["name"] == "the core imports no stage"]
    modules = {f"rebill.{p.stem}" for p in (REPO / "core").glob("*.py") if p.stem != "__init__"}
    modules |= {f"rebill.{p.parent.name}" for p in (REPO / "core").glob("*/__init__.py")}
    modules.add("rebill.data")
    assert modules == set(core["source_modules"])


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    """A copy of the tree with connectors importing rating: lint-imports fails, naming it."""
    tree = tmp_path / "tree"
    shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info",
                                                                "__pycache__", "data", ".*cache"))
    (tree / "connectors" / "wrong_way.py").write_text("from rebill.rating import engine\n")
    # lint-imports reads the package from sys.path: lay rebill/ out as setup.py maps it
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "rebill").symlink_to(tree / "core")
    (tree / "data").mkdir()
    shutil.copy(REPO / "data" / "__init__.py", tree / "data" / "__init__.py")
    for stage in ("connectors", "normalize", "rating", "exporters", "flows", "data"):
        (tree / "core" / stage).symlink_to(tree / stage)
    out = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
                         cwd=tree, capture_output=True, text=True, check=False, timeout=300,
                         env={"PYTHONPATH": str(pkg), "PATH": "/usr/bin:/bin"})
    assert out.returncode != 0, out.stdout
    assert "rebill.connectors.wrong_way -> rebill.rating.engine" in out.stdout, out.stdout[-3000:]


def test_the_real_tree_keeps_every_contract() -> None:
    out = _lint(REPO)
    assert out.returncode == 0, out.stdout[-3000:]
