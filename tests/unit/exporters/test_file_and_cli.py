"""The file target, the ledger behind the ``invoices`` view, and ``rebill export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from rebill.config import Config
from rebill.exporters import export_period
from rebill.flows.cli import app
from rebill.normalize.catalog import connect
from tests.fakes.fossbilling import FakeFossBilling
from tests.unit.exporters.conftest import FB_ENV

P = "2026-10"


def quiet(_: str) -> None:
    pass


def test_file_export_writes_json_and_csv(cfg: Config) -> None:
    outcome = export_period(cfg, P, echo=quiet)
    assert outcome.exported == ["acme", "globex"]
    folder = cfg.home / "exports" / P
    doc = json.loads((folder / "acme.json").read_text())
    assert doc["key"] == "rebill:acme:2026-10" and doc["subtotal"] == "1324.52"
    assert [ln["amount"] for ln in doc["lines"]] == ["1234.57", "-10.05", "100.00"]
    assert doc["lines"][0]["quantity"] == "720.5"
    csv_lines = (folder / "acme.csv").read_text().splitlines()
    assert csv_lines[0] == "line_no,kind,description,provider,service,quantity,unit,amount," \
                           "currency,taxed"
    assert csv_lines[1] == "1,usage,AWS Amazon EC2,AWS,Amazon EC2,720.5,Hours,1234.57,EUR,true"
    assert csv_lines[3] == "3,fee,Managed service,,,,,100.00,EUR,false"
    con = connect(cfg.home)
    rows = con.execute("SELECT tenant_id, status, target, external_id FROM invoices "
                       "ORDER BY tenant_id").fetchall()
    con.close()
    assert rows == [("acme", "exported", "file", "exports/2026-10/acme.json"),
                    ("globex", "exported", "file", "exports/2026-10/globex.json")]


def test_file_export_is_idempotent_and_deterministic(cfg: Config) -> None:
    export_period(cfg, P, echo=quiet)
    folder = cfg.home / "exports" / P
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert export_period(cfg, P, echo=quiet).skipped == ["acme", "globex"]
    (cfg.home / "state" / "exports.parquet").unlink()
    assert export_period(cfg, P, echo=quiet).exported == ["acme", "globex"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_tenant_filter(cfg: Config) -> None:
    assert export_period(cfg, P, tenant="globex", echo=quiet).exported == ["globex"]
    assert not (cfg.home / "exports" / P / "acme.json").exists()


def _toml(cfg: Config, fake: FakeFossBilling, path: Path) -> Path:
    path.write_text(f"""
[rebill]
home = "{cfg.home}"

[[tenants]]
id = "acme"
currency = "EUR"
billing = {{ email = "billing@acme.example" }}

[[tenants]]
id = "globex"
billing = {{ email = "ap@globex.example" }}

[exporters.fossbilling]
url = "{fake.url}"
api_key_env = "{FB_ENV}"
create_clients = true
""")
    return path


def test_cli_dry_run_and_export(cfg: Config, fossbilling: FakeFossBilling,
                                tmp_path: Path) -> None:
    toml = _toml(cfg, fossbilling, tmp_path / "rebill.toml")
    runner = CliRunner()
    args: list[Any] = ["export", "--period", P, "--target", "fossbilling", "--config", str(toml)]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "invoice/prepare" in dry.output and fossbilling.token not in dry.output
    assert fossbilling.calls == []
    real = runner.invoke(app, args)
    assert real.exit_code == 0, real.output
    assert "2 exported, 0 already exported" in real.output
    assert fossbilling.token not in real.output
    assert len(fossbilling.invoices) == 2


def test_cli_errors_are_one_line(cfg: Config, fossbilling: FakeFossBilling,
                                 tmp_path: Path) -> None:
    toml = _toml(cfg, fossbilling, tmp_path / "rebill.toml")
    result = CliRunner().invoke(app, ["export", "--period", "2026-11", "--config", str(toml)])
    assert result.exit_code == 1
    assert "period 2026-11 has not been rated" in result.output
    assert "Traceback" not in result.output
    bad = CliRunner().invoke(app, ["export", "--period", "2026-13", "--config", str(toml)])
    assert bad.exit_code == 1 and "expected YYYY-MM" in bad.output
