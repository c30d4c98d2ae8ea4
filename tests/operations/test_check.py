"""`rebill check` catches tomorrow's failure: secrets, FX coverage, --connect, no config."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rebill.flows.cli import app
from tests.conftest import SAMPLES
from tests.fakes.fossbilling import FakeFossBilling
from tests.fakes.linode import TOKEN, FakeLinode

runner = CliRunner()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeLinode, FakeFossBilling]]:
    linode = FakeLinode(json.loads((SAMPLES / "linode" / "api.json").read_text()))
    linode.server.start()
    fb = FakeFossBilling().start()
    monkeypatch.setenv("TEST_LINODE_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_FB_KEY", fb.token)
    monkeypatch.delenv("TEST_DO_TOKEN_UNSET", raising=False)
    yield linode, fb
    linode.server.stop()
    fb.stop()


def test_check_connect_names_a_missing_token_and_an_unreachable_endpoint(
        tmp_path: Path, fakes: tuple[FakeLinode, FakeFossBilling]) -> None:
    linode, fb = fakes
    cfg = tmp_path / "rebill.toml"
    cfg.write_text(f"""
[rebill]
home = "home"
export_to = "fossbilling"
[sources.lin]
type = "linode"
endpoint = "{linode.url}"
token_env = "TEST_LINODE_TOKEN"
[sources.dead]
type = "linode"
endpoint = "http://127.0.0.1:{closed_port()}/v4"
token_env = "TEST_LINODE_TOKEN"
[sources.do]
type = "digitalocean"
token_env = "TEST_DO_TOKEN_UNSET"
[exporters.fossbilling]
url = "{fb.url}"
api_key_env = "TEST_FB_KEY"
""")
    result = runner.invoke(app, ["check", "--connect", "--config", str(cfg)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "  source dead: FAILED: source dead: GET /account: ConnectionError",
        "  source do: FAILED: source do: environment variable TEST_DO_TOKEN_UNSET is not set "
        "(a DigitalOcean read-only token with the billing:read scope)",
        "  source lin: ok (account readable)",
        "  target fossbilling: ok (api key accepted)",
    ]
    assert result.stderr.splitlines() == [
        f"FAILED: {cfg}: 3 sources, 0 tenants, 0 shared pools, 0 warnings, 2 problems"]
    assert not (tmp_path / "home").exists()


def test_check_without_connect_names_missing_secrets_and_fx_gaps(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_DO_TOKEN_UNSET", raising=False)
    monkeypatch.delenv("TEST_HOOK_UNSET", raising=False)
    cfg = tmp_path / "rebill.toml"
    cfg.write_text("""
[sources.do]
type = "digitalocean"
token_env = "TEST_DO_TOKEN_UNSET"
[alerts]
webhook_env = "TEST_HOOK_UNSET"
[[tenants]]
id = "eu"
currency = "EUR"
match = [{ tag = "t=eu" }]
""")
    result = runner.invoke(app, ["check", "--config", str(cfg)])
    assert result.exit_code == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert errors[0] == (f"error: {cfg}: sources.do.token_env: environment variable "
                         "TEST_DO_TOKEN_UNSET is not set")
    assert errors[1] == (f"error: {cfg}: alerts.webhook_env: environment variable "
                         "TEST_HOOK_UNSET is not set")
    assert errors[2].startswith("error: no FX rate USD->EUR for ")
    assert len(errors) == 3


def test_no_config_and_read_only_commands_create_no_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REBILL_CONFIG", raising=False)
    check = runner.invoke(app, ["check"])
    assert check.exit_code == 1
    assert check.stderr.splitlines() == [
        "error: no rebill.toml found: pass --config, set REBILL_CONFIG or create ./rebill.toml"]
    for args in (["sql", "select 1"], ["status"], ["report", "--period", "2026-10"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert len(result.stderr.splitlines()) == 1 and "no rebill.toml found" in result.stderr
    assert list(tmp_path.iterdir()) == []
