"""`rebill demo` then a bare `rebill sql` in the same folder (the quick start)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.slow  # seconds each: Prefect, subprocesses or many examples


def rebill(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REBILL_CONFIG"}
    return subprocess.run(
        [sys.executable, "-c", "from flows.cli import main; main()", *args], cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=False,
        timeout=300)


def sample_sums() -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    with (SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv").open(newline="") as fh:
        for rec in csv.DictReader(fh):
            sums[rec["ProviderName"]] = sums.get(rec["ProviderName"], Decimal(0)) + Decimal(
                rec["BilledCost"])
    return sums


def test_demo_then_bare_sql_gives_the_sample_totals(tmp_path: Path) -> None:
    out = rebill(tmp_path, "demo", "--engine", "local")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Minimum commitment top-up" in out.stdout  # each tenant's invoice is printed
    sql = rebill(tmp_path, "sql", "SELECT ProviderName, sum(BilledCost) FROM costs GROUP BY 1",
                 "--format", "csv")
    assert sql.returncode == 0, sql.stderr
    got = {r["ProviderName"]: Decimal(r["sum(BilledCost)"])
           for r in csv.DictReader(sql.stdout.splitlines())}
    assert got == sample_sums()
    # running it again rebuilds the demo home; the user's own config is never replaced
    (tmp_path / "rebill.toml").write_text('[rebill]\nhome = "mine"\n')
    again = rebill(tmp_path, "demo", "--engine", "local")
    assert again.returncode == 0
    assert (tmp_path / "rebill.toml").read_text() == '[rebill]\nhome = "mine"\n'


@pytest.mark.slow
def test_demo_all_bills_every_provider(tmp_path: Path) -> None:
    out = rebill(tmp_path, "demo", "--all", "--engine", "local")
    assert out.returncode == 0, out.stderr[-2000:]
    sql = rebill(tmp_path, "sql", "SELECT DISTINCT provider FROM invoice_lines "
                 "WHERE provider IS NOT NULL ORDER BY 1", "-f", "csv")
    assert sql.stdout.splitlines() == ["provider", "AWS", "DigitalOcean", "Google Cloud", "Linode",
                                  "Microsoft", "Oracle"]
