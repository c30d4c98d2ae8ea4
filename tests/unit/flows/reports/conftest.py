from __future__ import annotations

from pathlib import Path

import pytest

from rebill.config import Config
from tests.unit.flows.reports.demo import build_demo


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: renders HTML in headless Chromium (installed by .ci/install-chromium)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A home with the FOCUS sample plus a spiky source, ingested and rated (read-only use)."""
    base: Path = tmp_path_factory.mktemp("demo")
    return build_demo(base)

