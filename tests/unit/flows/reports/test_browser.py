"""The reports render in a real browser: headless Chromium from Debian.

Chromium is installed by ``.ci/install-chromium`` (called from ``.ci/run``);
when it is missing this test tries the same script and skips only if the
install itself fails (no root, no package index).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from rebill.config import Config
from rebill.flows.reports import write_reports
from rebill.flows.reports.page import local_money
from rebill.normalize.catalog import connect
from rebill.periods import Period
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
    done = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=True)
    done.stdout = done.stdout.replace("&nbsp;", "\xa0")  # the DOM dump names it
    return done


def test_statement_and_overview_render(chromium: str, demo: Config, tmp_path: Path) -> None:
    con = connect(demo.home)
    try:
        write_reports(con, demo, PERIOD, out=tmp_path / "r")
        lines = con.execute("SELECT description, amount FROM invoice_lines "
                            "WHERE tenant_id = 'acme' ORDER BY line_no").fetchall()
    finally:
        con.close()
    statement = tmp_path / "r" / "statement-acme.html"
    dom = _run(chromium, tmp_path, "--dump-dom", statement.as_uri()).stdout
    total = sum((a for _, a in lines), Decimal(0))
    [row] = re.findall(r'<tr class="total">(.*?)</tr>', dom)
    assert local_money(total, "EUR", "de_DE") in row
    body = dom.split('<table class="invoice-lines">', 1)[1].split("</table>", 1)[0]
    body = body.split("<tbody>", 1)[1]
    assert body.count("<tr>") == len(lines)  # one row per line (+ the total row, classed)
    assert '<span class="draft">DRAFT</span>' in dom  # not exported yet
    assert dom.count('class="chart column-chart"') == 1
    assert dom.count('class="chart bar-chart"') == 1

    overview = tmp_path / "r" / "overview.html"
    dom = _run(chromium, tmp_path, "--dump-dom", overview.as_uri()).stdout
    assert "<h1>Finance overview</h1>" in dom
    assert dom.count("<svg") >= 2 and '<table class="margin">' in dom


SHOTS = Path("/tmp") / "rebill-statement-screenshots"


@pytest.mark.slow
def test_demo_statement_as_the_customer_sees_it(chromium: str, demo_all: Config,
                                                tmp_path: Path) -> None:
    oct_ = Period.parse("2026-10")
    con = connect(demo_all.home)
    try:
        paths = write_reports(con, demo_all, oct_, out=tmp_path / "r", pdf=True)
        sept = write_reports(con, demo_all, Period.parse("2026-09"), out=tmp_path / "s")
        [(subtotal, n_lines)] = con.execute(
            "SELECT subtotal, line_count FROM invoices WHERE tenant_id = 'acme' "
            "AND period = '2026-10'").fetchall()
        units = {u for (u,) in con.execute(
            "SELECT DISTINCT unit FROM invoice_lines WHERE tenant_id = 'acme' "
            "AND period = '2026-10' AND unit IS NOT NULL").fetchall()}
    finally:
        con.close()
    # initech starts 2026-10-16: no statement for September (no active day, no line)
    assert "statement-initech.html" not in {p.name for p in sept}
    assert "statement-acme.html" in {p.name for p in sept}
    pdf = tmp_path / "r" / "statement-acme.pdf"
    assert pdf in paths and pdf.read_bytes()[:5] == b"%PDF-"

    statement = tmp_path / "r" / "statement-acme.html"
    dom = _run(chromium, tmp_path, "--dump-dom", statement.as_uri()).stdout
    text = re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", dom))
    # issuer, customer, number, dates
    for expected in ("Example Hosting Ltd", "Tax ID GB123456789", "Acme Corp GmbH",
                     "Hauptstraße 1", "Tax ID DE123456789", "billing@acme.example",
                     "2026-10-ACME", "2026-10-01 to 2026-10-31", "Issue date", "Due date"):
        assert expected in text, expected
    assert "exports/2026-10" not in text and "DRAFT" not in text
    issued = re.search(r'class="issued">(\d{4}-\d\d-\d\d)', dom)
    due = re.search(r'class="due">(\d{4}-\d\d-\d\d)', dom)
    assert issued and due
    assert (date.fromisoformat(due.group(1)) - date.fromisoformat(issued.group(1))).days == 14
    # one total, equal to the invoice, in German number format
    [row] = re.findall(r'<tr class="total">(.*?)</tr>', dom)
    assert "2.435,72\xa0€" in row and local_money(subtotal, "EUR", "de_DE") in row
    assert "Rated usage" not in text
    body = dom.split('<table class="invoice-lines">', 1)[1].split("</table>", 1)[0]
    assert body.split("<tbody>", 1)[1].count("<tr>") == n_lines
    # descriptions without the provider twice; units normalized
    assert "AWS AWS" not in text and "Linode Linode" not in text
    assert "AWS Lambda" in text and "Linodes" in text
    assert units & {"Hrs", "Hours"} and not re.search(r"\b(Hrs|Hours)\b", text)
    assert "hour" in text and "EUR/hour" in text
    assert "Includes credits of -42,98\xa0€" in text
    # charts: no zero bar, no label past the right edge
    daily = dom.split('class="chart column-chart"', 1)[1].split("</svg>", 1)[0]
    assert "0,00\xa0€" not in daily
    last = re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">2026-10-31</text>',
                      daily)
    assert last and float(last[0][0]) <= 900 and last[0][1] == "end"

    # notes: proration, minimum top-up, pool under the pool's name
    initech = (tmp_path / "r" / "statement-initech.html").read_text()
    assert "$80.00 × 16/31 days" in initech
    orion = (tmp_path / "r" / "statement-orion.html").read_text()
    assert "Monthly minimum $10.00; the lines above come to $0.00" in orion
    con = connect(demo_all.home)
    try:
        write_reports(con, demo_all, Period.parse("2024-09"), tenant="atlas", out=tmp_path / "a")
    finally:
        con.close()
    atlas = (tmp_path / "a" / "statement-atlas.html").read_text()
    bars = atlas.split('class="chart bar-chart"', 1)[1].split("</svg>", 1)[0]
    assert 'data-label="Shared: Networking"' in bars
    assert "Amazon Virtual Private Cloud" not in bars and "AmazonCloudWatch" not in bars
    assert "$60.00 × 21/30 days" in atlas and "One-off fee (2024-09-10)" in atlas

    SHOTS.mkdir(exist_ok=True)
    shot = SHOTS / "statement-acme-2026-10.png"
    _run(chromium, tmp_path, "--window-size=1000,1700", f"--screenshot={shot}",
         statement.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
