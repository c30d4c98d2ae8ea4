"""[alerts] webhook: Slack-compatible JSON, bounded retries, no secret in a payload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rebill.config import Config, load_config
from rebill.flows.alerts import ATTEMPTS, send_alert, send_alert_once
from rebill.flows.cli import app
from tests.fakes.webhook import WebhookReceiver


@pytest.fixture
def cfg(make_config: Callable[[dict[str, Any]], Config],
        monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("TEST_DO_TOKEN", "dop_v1_supersecret")
    return make_config({"alerts": {"webhook_env": "TEST_ALERT_HOOK"},
                        "sources": {"do": {"type": "digitalocean", "token_env": "TEST_DO_TOKEN"}}})


def test_alert_is_slack_compatible_and_masks_secrets(
        cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = WebhookReceiver()
    monkeypatch.setenv("TEST_ALERT_HOOK", hook.url)
    try:
        assert send_alert(cfg, "source do refused dop_v1_supersecret", "failure")
    finally:
        hook.close()
    assert hook.received == [{"text": "rebill failure: source do refused ***", "kind": "failure"}]


def test_retries_are_bounded_and_a_dead_webhook_never_raises(
        cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = WebhookReceiver(statuses=[503, 429])
    monkeypatch.setenv("TEST_ALERT_HOOK", hook.url)
    try:
        assert send_alert(cfg, "x", "failure", backoff=0)  # third attempt delivered
        hook.statuses = [500] * 10
        assert not send_alert(cfg, "y", "failure", backoff=0)
        assert hook.attempts == 3 + ATTEMPTS
        hook.statuses = [400]
        assert not send_alert(cfg, "z", "failure", backoff=0)  # a 4xx is not retried
        assert hook.attempts == 3 + ATTEMPTS + 1
    finally:
        hook.close()


def test_budget_and_anomaly_alerts_go_once(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = WebhookReceiver()
    monkeypatch.setenv("TEST_ALERT_HOOK", hook.url)
    try:
        for _ in range(3):
            send_alert_once(cfg, "acme projected 120.00 EUR over budget 100.00", "budget")
        send_alert_once(cfg, "acme AWS EC2 2026-11-20: 5x the median", "anomaly")
    finally:
        hook.close()
    assert [a["kind"] for a in hook.received] == ["budget", "anomaly"]


def test_no_alerts_section_sends_nothing(make_config: Callable[[dict[str, Any]], Config]) -> None:
    assert not send_alert(make_config({}), "x")


def test_deploy_refuses_the_embedded_server_and_writes_prefect_yaml(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rebill.toml"
    path.write_text('[nightly]\ncron = "30 2 * * *"\ntimezone = "Europe/Paris"\n')
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    refused = CliRunner().invoke(app, ["deploy", "--config", str(path)])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: PREFECT_API_URL is not set")
    out = tmp_path / "prefect.yaml"
    wrote = CliRunner().invoke(app, ["deploy", "--config", str(path), "--prefect-yaml", str(out)])
    assert wrote.exit_code == 0, wrote.output
    doc = yaml.safe_load(out.read_text())
    nightly, backfill = doc["deployments"]
    assert nightly["schedules"] == [{"cron": "30 2 * * *", "timezone": "Europe/Paris"}]
    assert nightly["entrypoint"] == "rebill.flows.schedule:nightly_flow"
    assert nightly["parameters"] == {"config_path": str(load_config(path).file)}
    assert backfill["entrypoint"] == "rebill.flows.ingest:backfill_flow"
    assert nightly["work_pool"]["name"] == backfill["work_pool"]["name"] == "rebill"
