from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from html import escape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rebill.config import Config
from rebill.errors import ConfigError, RatingError
from rebill.flows.cli import app
from rebill.flows.reports import write_reports
from rebill.flows.reports.page import local_money
from rebill.money import round_money
from rebill.normalize.catalog import connect
from rebill.periods import Period
from tests.unit.flows.reports.demo import PERIOD


def _lines(cfg: Config, tenant: str) -> list[tuple[str, Decimal, str]]:
    con = connect(cfg.home)
    try:
        return con.execute(
            "SELECT description, amount, currency FROM invoice_lines WHERE tenant_id = $1 "
            "AND period = $2 ORDER BY line_no", [tenant, PERIOD.label]).fetchall()
    finally:
        con.close()


def test_report_writes_statements_csv_and_overview(demo: Config, tmp_path: Path) -> None:
    con = connect(demo.home)
    try:
        paths = write_reports(con, demo, PERIOD, out=tmp_path / "r")
    finally:
        con.close()
    names = sorted(p.name for p in paths)
    assert names == ["overview.html", "statement-acme.html", "statement-globex.html",
                     "usage-acme.csv", "usage-globex.csv"]
    for tenant in ("acme", "globex"):
        page = (tmp_path / "r" / f"statement-{tenant}.html").read_text()
        lines = _lines(demo, tenant)
        assert lines, "the demo rates both tenants"
        total = sum((a for _, a, _ in lines), Decimal(0))
        currency = lines[0][2]
        locale = "de_DE" if currency == "EUR" else "en_US"
        rows = re.findall(r'<tr class="total">(.*?)</tr>', page)
        assert len(rows) == 1, "one total, no second figure that could disagree"
        assert rows[0].endswith(f'<td class="num">{local_money(total, currency, locale)}</td>')
        for description, amount, _ in lines:
            assert f'<td class="description">{description}' in page
            cls = "num neg" if amount < 0 else "num"
            assert f'<td class="{cls}">{local_money(amount, currency, locale)}</td>' in page
        # a bar per day with a cost, none for days that round to zero
        daily = page.split('class="chart column-chart"', 1)[1].split("</svg>", 1)[0]
        assert 0 < daily.count('<rect class="bar') <= PERIOD.days
        assert 'data-value="0,00' not in daily and 'data-value="$0.00' not in daily
        assert "<script" not in page and "http://" not in page.replace(
            'xmlns="http://www.w3.org/2000/svg"', "")


def test_usage_csv_adds_up_to_rated_amounts(demo: Config, tmp_path: Path) -> None:
    con = connect(demo.home)
    try:
        write_reports(con, demo, PERIOD, tenant="acme", out=tmp_path)
        (rated,), = con.execute(
            "SELECT sum(amount) FROM rated_costs WHERE tenant_id = 'acme' AND period = $1",
            [PERIOD.label]).fetchall()
    finally:
        con.close()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "usage-acme.csv").read_text())))
    assert rows and set(rows[0]) >= {"day", "provider", "service", "sku_id", "resource_id",
                                     "amount", "currency"}
    assert sum(Decimal(r["amount"]) for r in rows) == rated
    assert {r["currency"] for r in rows} == {"EUR"}
    assert any(r["sku_id"] for r in rows) and any(r["resource_id"] for r in rows)
    assert not (tmp_path / "overview.html").exists(), "--tenant writes no overview"


def test_reports_are_deterministic_and_under_home(demo: Config) -> None:
    con = connect(demo.home)
    try:
        first = {p: p.read_bytes() for p in write_reports(con, demo, PERIOD)}
        second = {p: p.read_bytes() for p in write_reports(con, demo, PERIOD)}
    finally:
        con.close()
    assert first == second
    assert all(p.parent == demo.home / "reports" / "2024-09" for p in first)
    assert not [p for p in (demo.home / "reports" / "2024-09").iterdir() if ".tmp-" in p.name]


def test_overview_groups_by_currency_and_shows_margin(demo: Config, tmp_path: Path) -> None:
    con = connect(demo.home)
    try:
        write_reports(con, demo, PERIOD, out=tmp_path)
        margins = con.execute("""SELECT tenant_id, provider, sum(rated) - sum(cost)
            FROM rated_costs WHERE period = $1 GROUP BY ALL""", [PERIOD.label]).fetchall()
        (unalloc,), = con.execute("SELECT sum(cost) FROM unallocated WHERE period = $1",
                                  [PERIOD.label]).fetchall()
    finally:
        con.close()
    page = (tmp_path / "overview.html").read_text()
    for tenant, provider, margin in margins:
        name = next(t.name or t.id for t in demo.tenants if t.id == tenant)
        row = re.search(rf"<tr><td>{re.escape(escape(name))}</td><td>{provider}</td>(.*?)</tr>",
                        page)
        assert row is not None
        assert f"{round_money(margin, 'USD'):,f}" in row.group(1)
    assert f"{round_money(unalloc, 'USD'):,f}" in page
    assert "Globex <Ltd>" not in page  # tenant names are escaped
    assert page.count("<h3>USD</h3>") == 2  # spend and margin sections, one currency each


def test_statement_escapes_names(demo: Config, tmp_path: Path) -> None:
    con = connect(demo.home)
    try:
        write_reports(con, demo, PERIOD, tenant="globex", out=tmp_path)
    finally:
        con.close()
    page = (tmp_path / "statement-globex.html").read_text()
    assert "<strong>Globex &lt;Ltd&gt; &amp; Co</strong>" in page
    assert "<Ltd>" not in page


def test_unknown_tenant_and_unrated_period_are_one_line_errors(demo: Config) -> None:
    con = connect(demo.home)
    try:
        with pytest.raises(ConfigError, match="unknown tenant 'nobody'"):
            write_reports(con, demo, PERIOD, tenant="nobody")
        with pytest.raises(RatingError, match=r"2024-08 has not been rated.*rebill rate"):
            write_reports(con, demo, Period(date(2024, 8, 1)))
    finally:
        con.close()


def test_cli_report(demo: Config, tmp_path: Path) -> None:
    toml = tmp_path / "rebill.toml"
    toml.write_text(demo.file.read_text() if demo.file else _toml(demo))
    runner = CliRunner()
    ok = runner.invoke(app, ["report", "--period", "2024-09", "--tenant", "acme",
                             "--out", str(tmp_path / "o"), "--config", str(toml)])
    assert ok.exit_code == 0, ok.output
    assert str(tmp_path / "o" / "statement-acme.html") in ok.output
    bad = runner.invoke(app, ["report", "--period", "2024-13", "--config", str(toml)])
    assert bad.exit_code == 1
    assert "bad period '2024-13'" in bad.output
    assert "Traceback" not in bad.output


def _toml(cfg: Config) -> str:
    """Enough of the demo config for the CLI: home, fx, sources and tenants."""
    out = [f'[rebill]\nhome = "{cfg.home}"\n',
           f'[fx]\npath = "{cfg.resolve(cfg.fx.path) if cfg.fx else ""}"\n']
    for sid, raw in cfg.sources.items():
        out.append(f"[sources.{sid}]\n" + "".join(f'{k} = "{v}"\n' for k, v in raw.items()))
    for t in cfg.tenants:
        out.append(f'[[tenants]]\nid = "{t.id}"\ncurrency = "{cfg.tenant_currency(t)}"\n')
    return "\n".join(out)


@pytest.mark.slow
def test_overview_names_tenants_and_shows_margin_share_change_and_budgets(
        demo_all: Config, tmp_path: Path) -> None:
    con = connect(demo_all.home)
    try:
        write_reports(con, demo_all, Period.parse("2026-10"), out=tmp_path)
        [(una, total)] = con.execute("""
            SELECT (SELECT sum(cost) FROM unallocated WHERE period = '2026-10'),
                   (SELECT sum(BilledCost) FROM costs WHERE period = '2026-10')""").fetchall()
        subtotals = dict(con.execute("""SELECT period, subtotal FROM invoices
            WHERE tenant_id = 'acme' AND period IN ('2026-09', '2026-10')""").fetchall())
    finally:
        con.close()
    page = (tmp_path / "overview.html").read_text()
    text = re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", page))
    share = (una * 100 / total).quantize(Decimal("0.1"))
    assert f"Unallocated share {share}%" in text
    change = ((subtotals["2026-10"] - subtotals["2026-09"]) * 100
              / subtotals["2026-09"]).quantize(Decimal("0.1"))
    acme = re.search(r"<tr><td>Acme Corp</td><td class=\"num\">18</td>(.*?)</tr>", page)
    assert acme is not None, "invoices list tenants by name"
    assert f"+{change}%" in acme.group(1)
    assert "2,500.00" in acme.group(1)  # its budget
    assert f"{(subtotals['2026-10'] * 100 / 2500).quantize(Decimal('0.1'))}%" in acme.group(1)
    assert "Margin %" in page and re.search(r"<td class=\"num\">\d+\.\d%</td>", page)
    assert "<td>acme</td>" not in page


def test_pdf_without_chromium_is_one_clear_error_after_the_html(
        demo: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("REBILL_CHROMIUM", raising=False)
    con = connect(demo.home)
    try:
        with pytest.raises(ConfigError, match=r"--pdf: no Chromium found .* REBILL_CHROMIUM"):
            write_reports(con, demo, PERIOD, tenant="acme", out=tmp_path / "r", pdf=True)
        monkeypatch.setenv("REBILL_CHROMIUM", str(tmp_path / "nope"))
        with pytest.raises(ConfigError, match=r"REBILL_CHROMIUM=.*nope: not an executable"):
            write_reports(con, demo, PERIOD, tenant="acme", out=tmp_path / "r", pdf=True)
    finally:
        con.close()
    assert (tmp_path / "r" / "statement-acme.html").exists()
    assert not (tmp_path / "r" / "statement-acme.pdf").exists()
