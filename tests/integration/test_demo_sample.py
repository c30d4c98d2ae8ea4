"""End to end: the bundled FOCUS sample + data/demo/rebill.toml -> invoice lines to the cent.

The expected lines were computed by hand (an independent Decimal walk over the
CSV rows, following DESIGN "Rating semantics") and are frozen here.
"""

from __future__ import annotations

import shutil
from decimal import Decimal as D
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rebill.config import load_config
from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.flows.cli import app
from rebill.normalize.lake import load_partition
from rebill.periods import Period

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
SAMPLE = ROOT / "data" / "samples" / "focus" / "focus_1.0_sample_1000rows.csv"

EXPECTED = [
    ("atlas", 1, "usage", "AWS Amazon Elastic Compute Cloud", D("-2.86"), "USD"),
    ("atlas", 2, "usage", "Microsoft Azure Kubernetes Service", D("1.90"), "USD"),
    ("atlas", 3, "usage", "Oracle COMPUTE", D("0.33"), "USD"),
    ("atlas", 4, "shared", "Shared: Networking", D("0.04"), "USD"),
    ("atlas", 5, "fee", "Platform support", D("42.00"), "USD"),  # 60.00 x 21/30
    ("atlas", 6, "fee", "Onboarding", D("150.00"), "USD"),
    ("orion", 1, "usage", "AWS Amazon Elastic Compute Cloud", D("1.25"), "USD"),
    ("orion", 2, "usage", "AWS Amazon Elastic Container Service", D("0.01"), "USD"),
    ("orion", 3, "usage", "AWS Amazon Elastic File System", D("0.01"), "USD"),
    ("orion", 4, "usage", "AWS Elastic Load Balancing", D("0.08"), "USD"),
    ("orion", 5, "shared", "Shared: Observability", D("0.02"), "USD"),
    ("orion", 6, "shared", "Shared: Networking", D("0.05"), "USD"),
    ("orion", 7, "minimum", "Minimum commitment top-up", D("8.58"), "USD"),
    ("peoria", 1, "usage", "AWS Amazon Elastic Compute Cloud", D("15.77"), "EUR"),
    ("peoria", 2, "shared", "Shared: Observability", D("0.21"), "EUR"),
    ("peoria", 3, "shared", "Shared: Networking", D("0.09"), "EUR"),
    ("peoria", 4, "fee", "Managed service", D("100.00"), "EUR"),
]


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(DEMO / "fx.csv", folder / "fx.csv")
    text = (DEMO / "rebill.toml").read_text()
    text = text.replace('home = "../../demo-home"', 'home = "home"')
    text = text.replace('path = "../samples/focus/*.csv"', f'path = "{SAMPLE}"')
    (folder / "rebill.toml").write_text(text)
    cfg = load_config(folder / "rebill.toml")
    connector = build("focus", cfg.sources["focus"], Context.now(cfg.home, cfg.base_dir))
    load_partition(cfg.home, connector, Period.parse("2024-09"))
    return folder / "rebill.toml"


def test_sample_invoice_lines_to_the_cent(demo_config: Path) -> None:
    result = CliRunner().invoke(app, ["rate", "--period", "2024-09", "--config", str(demo_config)])
    assert result.exit_code == 0, result.output
    assert "peoria" in result.output and "116.07" in result.output
    home = demo_config.parent / "home"
    lines = pq.read_table(home / "rated" / "period=2024-09" / "invoice_lines.parquet").to_pylist()
    got = [(r["tenant_id"], r["line_no"], r["kind"], r["description"], r["amount"], r["currency"])
           for r in lines]
    assert got == EXPECTED
    invoices = pq.read_table(home / "rated" / "period=2024-09" / "invoices.parquet").to_pylist()
    assert {(r["tenant_id"], r["subtotal"]) for r in invoices} == {
        ("atlas", D("191.41")), ("orion", D("10.00")), ("peoria", D("116.07"))}


def test_status_shows_unallocated_and_balance(demo_config: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["rate", "-p", "2024-09", "-c", str(demo_config)]).exit_code == 0
    result = runner.invoke(app, ["status", "--config", str(demo_config)])
    assert result.exit_code == 0, result.output
    assert "period 2024-09" in result.output
    # before 2024-09-10 Atlas's account is not yet a tenant: its rows are unallocated
    assert "unallocated: 454 rows, 3.222033866690 USD" in result.output
    assert "conservation USD: lake 20.280226728990" in result.output
    assert ": ok" in result.output


def test_check_warns_about_overlapping_tenants(demo_config: Path) -> None:
    from rebill.rating import check_config

    warnings = check_config(load_config(demo_config))
    assert any("176 lake rows match tenants peoria, atlas" in w for w in warnings)
