"""Against a real `prefect server start`: a nightly with a failing source is FAILED,
its run logs hold the error, and the webhook gets exactly one alert."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from tests.conftest import REPO, SAMPLES
from tests.fakes.webhook import WebhookReceiver

CONFIG = """
[rebill]
home = "home"

[sources.files]
type = "focus"
path = "exports/*.csv"

[sources.do]
type = "digitalocean"
token_env = "REBILL_TEST_DO_TOKEN_UNSET"

[alerts]
webhook_env = "REBILL_TEST_WEBHOOK"
"""


def _flow_run_and_logs(api: str, flow_name: str) -> tuple[object, list[str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
        assert len(runs) == 1
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[runs[0].id])))
    return runs[0], [log.message for log in logs]


@pytest.mark.slow
def test_nightly_with_a_failing_source_is_failed_with_its_error_in_the_run_logs(
        prefect_server: str, tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "exports")
    cfg = tmp_path / "rebill.toml"
    cfg.write_text(CONFIG)
    hook = WebhookReceiver()
    env = {**os.environ, "PREFECT_API_URL": prefect_server,
           "PREFECT_HOME": str(tmp_path / "prefect-client"), "REBILL_TEST_WEBHOOK": hook.url}
    env.pop("REBILL_TEST_DO_TOKEN_UNSET", None)
    env.pop("REBILL_ENGINE", None)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "rebill.flows.cli", "nightly", "--config", str(cfg),
             "--today", "2024-10-03"],
            check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    finally:
        hook.close()
    assert out.returncode == 1, out.stderr[-2000:]
    # the sample's months loaded; the DigitalOcean failure is named once on the terminal
    assert "files 2024-09: 999 rows loaded" in out.stdout
    failed_lines = [ln for ln in out.stderr.splitlines() if "REBILL_TEST_DO_TOKEN_UNSET" in ln]
    assert len(failed_lines) == 1, out.stderr

    run, messages = _flow_run_and_logs(prefect_server, "rebill-nightly")
    assert run.state is not None and run.state.type.value == "FAILED"
    assert "ingest do" in (run.state.message or "")
    assert any("REBILL_TEST_DO_TOKEN_UNSET" in m and "do" in m for m in messages), messages
    assert any("files 2024-09 loaded 999 rows" in m for m in messages), messages

    assert len(hook.received) == 1
    alert = hook.received[0]
    assert alert["kind"] == "failure"
    assert alert["text"].startswith("rebill failure: nightly 2024-10-03 failed: ")
    assert "REBILL_TEST_DO_TOKEN_UNSET" in alert["text"]


@pytest.mark.slow
def test_served_nightly_deployment_fails_visibly(prefect_server: str, tmp_path: Path) -> None:
    """`rebill deploy` (Prefect's serve) runs the nightly in its own process: same truth."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv", tmp_path / "exports")
    cfg = tmp_path / "rebill.toml"
    cfg.write_text(CONFIG.replace('home = "home"', 'home = "home"\n[nightly]\ncron = "0 3 1 1 *"'))
    hook = WebhookReceiver()
    env = {**os.environ, "PREFECT_API_URL": prefect_server,
           "PREFECT_HOME": str(tmp_path / "prefect-client"), "REBILL_TEST_WEBHOOK": hook.url}
    env.pop("REBILL_TEST_DO_TOKEN_UNSET", None)
    served = subprocess.Popen(
        [sys.executable, "-m", "rebill.flows.cli", "deploy", "--config", str(cfg)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert served.stdout is not None
        head = [served.stdout.readline() for _ in range(3)]
        assert head[2].strip() == f"serving on {prefect_server} (Ctrl-C to stop)", head
        with temporary_settings({PREFECT_API_URL: prefect_server}), \
                get_client(sync_client=True) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    deployment = client.read_deployment_by_name("rebill-nightly/rebill-nightly")
                    break
                except ObjectNotFound:  # not registered yet
                    assert time.monotonic() < deadline, "deployment never registered"
                    time.sleep(1)
            run = client.create_flow_run_from_deployment(
                deployment.id, parameters={"today": "2024-10-03"})
            while True:
                run = client.read_flow_run(run.id)
                if run.state is not None and run.state.is_final():
                    break
                assert time.monotonic() < deadline + 180, f"run stuck in {run.state}"
                time.sleep(1)
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    finally:
        served.terminate()
        served.wait(timeout=30)
        if served.stdout is not None:
            served.stdout.close()
        hook.close()
    assert run.state.type.value == "FAILED", run.state
    assert "ingest do" in (run.state.message or "")
    messages = [log.message for log in logs]
    assert any("REBILL_TEST_DO_TOKEN_UNSET" in m for m in messages), messages
    assert any("files 2024-09 loaded 999 rows" in m for m in messages), messages
    assert len(hook.received) == 1 and "REBILL_TEST_DO_TOKEN_UNSET" in hook.received[0]["text"]
