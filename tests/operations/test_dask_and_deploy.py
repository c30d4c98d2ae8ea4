"""Scale-out on Dask against a real Prefect server, and the deployments."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rebill.config import load_config
from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.slow  # seconds each: Prefect, subprocesses or many examples


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` on loopback (SQLite in a temp PREFECT_HOME)."""
    port = _free_port()
    home = tmp_path_factory.mktemp("prefect-home")
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port), "--no-ui"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("prefect server did not start")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_ingest_fan_out_on_dask_local_cluster(prefect_server: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "a")
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "b")
    cfg = tmp_path / "rebill.toml"
    cfg.write_text(
        '[rebill]\nhome = "home"\n[nightly]\ndask = true\ndask_workers = 2\n'
        '[sources.a]\ntype = "focus"\npath = "a/*.csv"\n'
        '[sources.b]\ntype = "focus"\npath = "b/*.csv"\n')
    env = {**os.environ, "PREFECT_API_URL": prefect_server,
           "DASK_TEMPORARY_DIRECTORY": str(tmp_path / "dask"),
           "PREFECT_HOME": str(tmp_path / "prefect-client")}
    out = subprocess.run([sys.executable, "-m", "rebill.flows.cli", "ingest", "--config", str(cfg)],
                         check=False, cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    for source in ("a", "b"):
        assert f"{source} 2024-09: 999 rows loaded" in out.stdout
    # the flow and its tasks ran on the server, through Dask
    runs = httpx.post(f"{prefect_server}/task_runs/filter", json={}, timeout=10).json()
    assert sorted(r["name"] for r in runs) == [
        "load a 2024-09", "load a 2024-10", "load b 2024-09", "load b 2024-10"]
    from rebill.normalize.catalog import connect

    home = load_config(cfg).home
    assert connect(home).execute("SELECT x_source, count(*) FROM costs GROUP BY 1 ORDER BY 1"
                                 ).fetchall() == [("a", 1000), ("b", 1000)]


def test_deployments_carry_cron_timezone_and_config(tmp_path: Path) -> None:
    from rebill.flows.schedule import deployments

    cfg_path = tmp_path / "rebill.toml"
    cfg_path.write_text('[nightly]\ncron = "30 2 * * *"\ntimezone = "Europe/Paris"\n')
    found = {d.name: d for d in deployments(load_config(cfg_path), str(cfg_path))}
    assert set(found) == {"rebill-nightly", "rebill-backfill"}
    nightly = found["rebill-nightly"]
    schedule = nightly.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("30 2 * * *", "Europe/Paris")
    assert nightly.parameters == {"config_path": str(cfg_path)}
    assert not found["rebill-backfill"].schedules
