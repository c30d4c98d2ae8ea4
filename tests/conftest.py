"""Shared fixtures: an isolated home, a config builder, the repo's sample data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rebill.config import Config, parse_config

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Never let a test touch a developer's AWS/GCP credentials.
for _var in ("AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS"):
    os.environ.pop(_var, None)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[[dict[str, Any]], Config]:
    """Build a validated Config whose home is ``tmp_path/home``."""

    def build(data: dict[str, Any]) -> Config:
        data = {**data}
        data.setdefault("rebill", {})
        data["rebill"] = {"home": str(tmp_path / "home"), **data["rebill"]}
        return parse_config(data, "test.toml", tmp_path)

    return build


@pytest.fixture(scope="session")
def demo_all(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A `rebill demo --all` home (FOCUS + AWS, GCP, DigitalOcean, Linode; rated, exported)."""
    from rebill.flows.common import open_config
    from rebill.flows.demo import run_demo

    home = tmp_path_factory.mktemp("demo-all") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REBILL_CONFIG", str(home / "rebill.toml"))  # never write ./rebill.toml
        run_demo(home, "local", clouds=True)
    return open_config(home / "rebill.toml")
