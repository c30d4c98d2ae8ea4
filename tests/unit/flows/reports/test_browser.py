"""The reports render in a real browser: headless Chromium from Debian.

Chromium is installed by ``.ci/install-chromium`` (called from ``.ci/run``);
when it is missing this test tries the same script and skips only if the
install itself fails (no root, no package index).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from rebill.config import Config
from rebill.flows.reports import write_reports
from rebill.normalize.catalog import connect
from tests.conftest import REPO
from tests.unit.flows.reports.demo import PERIOD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        script = REPO / ".ci" / "install-chromium"
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                              timeout=900, check=False)
        found = shutil.which("chromium")
        if found is None:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            pytest.skip(f"chromium is not installed and .ci/install-chromium failed: {last[0]}")
    return found


def _run(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def test_statement_and_overview_render(chromium: str, demo: Config, tmp_path: Path) -> None:
    con = connect(demo.home)
    try:
        write_reports(con, demo, PERIOD, out=tmp_path / "r")
        lines = con.execute("SELECT description, amount FROM invoice_lines "
                            "WHERE tenant_id = 'acme' ORDER BY line_no").fetchall()
        services = con.execute("SELECT count(DISTINCT (provider, service)) FROM rated_costs "
                               "WHERE tenant_id = 'acme'").fetchall()[0][0]
    finally:
        con.close()
    statement = tmp_path / "r" / "statement-acme.html"
    dom = _run(chromium, tmp_path, "--dump-dom", statement.as_uri()).stdout
    total = sum((a for _, a in lines), Decimal(0))
    assert re.search(rf'<tr class="total">.*?>{re.escape(f"{total:,f}")}</td><td>EUR</td>', dom)
    body = dom.split('<table class="invoice-lines">', 1)[1].split("</table>", 1)[0]
    body = body.split("<tbody>", 1)[1]
    assert body.count("<tr>") == len(lines)  # one row per line (+ the total row, classed)
    for description, _ in lines:
        assert f"<td>{description}</td>" in dom
    assert dom.count('class="chart column-chart"') == 1
    assert dom.count('class="chart bar-chart"') == 1
    daily = dom.split('class="chart column-chart"', 1)[1].split("</svg>", 1)[0]
    assert daily.count("<rect ") == PERIOD.days
    bars = dom.split('class="chart bar-chart"', 1)[1].split("</svg>", 1)[0]
    assert bars.count("<rect ") == services

    overview = tmp_path / "r" / "overview.html"
    dom = _run(chromium, tmp_path, "--dump-dom", overview.as_uri()).stdout
    assert "<h1>Finance overview</h1>" in dom
    assert dom.count("<svg") >= 2 and '<table class="margin">' in dom

    shot = tmp_path / "statement.png"
    _run(chromium, tmp_path, "--window-size=1000,1400", f"--screenshot={shot}", statement.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
