"""`rebill explain` reproduces every invoice line of the demo to the cent, from its rows."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rebill.config import Config
from rebill.exporters import export_period
from rebill.exporters.corrections import rating_hook
from rebill.flows.cli import app
from rebill.flows.explain import explain_lines
from rebill.money import round_money
from rebill.normalize.catalog import connect
from rebill.periods import Period
from rebill.rating import rate_period
from tests.unit.rating.lakebuild import make_config, row, write_lake


@pytest.mark.slow
def test_every_demo_line_is_reproduced_to_the_cent(demo_all: Config) -> None:
    con = connect(demo_all.home)
    try:
        pairs = con.execute("SELECT DISTINCT tenant_id, period FROM invoice_lines "
                            "ORDER BY ALL").fetchall()
        kinds: set[str] = set()
        count = 0
        for tenant, period in pairs:
            for ex in explain_lines(con, demo_all, Period.parse(period), tenant):
                count += 1
                kinds.add(ex.kind)
                assert ex.matches, (tenant, period, ex.line_no, ex.amount, ex.computed, ex.steps)
                if ex.kind in ("usage", "shared"):
                    # by construction: the rows' exact sum, rounded once, is the line
                    exact = ex.facts["exact_sum"]
                    assert round_money(exact, ex.currency) == ex.amount
                    assert ex.facts["rounding"] == ex.amount - exact
                    for group in ("by_source", "by_account", "by_service", "by_day"):
                        assert sum(r["amount"] for r in ex.facts[group]) == exact, group
                        assert sum(r["rows"] for r in ex.facts[group]) == ex.facts["rows"]
                    assert sum(r["amount"] for r in ex.facts["fx"]) == exact
                    assert sum(r["rated"] for r in ex.facts["pricing"]) == ex.facts["rated"]
        [(total,)] = con.execute("SELECT count(*) FROM invoice_lines").fetchall()
    finally:
        con.close()
    assert count == total > 50
    assert {"usage", "shared", "fee", "minimum"} <= kinds


@pytest.mark.slow
def test_cli_text_json_and_rows(demo_all: Config) -> None:
    cfg = str(demo_all.file or demo_all.home / "rebill.toml")
    runner = CliRunner()
    out = runner.invoke(app, ["explain", "--config", cfg, "--tenant", "initech",
                              "--period", "2026-10"])
    assert out.exit_code == 0, out.output
    assert "Managed service': 41.29 USD  [= the line]" in out.output
    assert "monthly fee 80 x 16/31 active days" in out.output
    assert "fx: " in out.output and "rounded half away from zero to" in out.output

    out = runner.invoke(app, ["explain", "--config", cfg, "--tenant", "acme", "--period",
                              "2026-10", "--line", "1", "--rows", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    [line] = doc["lines"]
    assert line["line_no"] == 1 and line["matches"] is True
    assert line["fx"][0]["rate_date"] is not None  # USD -> EUR, dated from fx.csv
    listed = line["row_list"]
    assert len(listed) == line["rows"] and all(r["x_row_id"] for r in listed)
    assert sum(Decimal(r["amount"]) for r in listed) == Decimal(line["exact_sum"])

    out = runner.invoke(app, ["explain", "--config", cfg, "--tenant", "acme",
                              "--period", "2026-10", "--line", "99"])
    assert out.exit_code != 0 and "--line 99" in out.output
    assert "Traceback" not in out.output


def test_correction_line_shows_the_exported_amount(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, {"tenants": [
        {"id": "acme", "markup": "10%", "match": [{"account": "acct"}]}]})
    hook = rating_hook(cfg)
    sept = [row("2026-09-10", "100.00")]
    write_lake(cfg.home, [*sept, row("2026-10-03", "50.00")])
    rate_period(cfg, Period.parse("2026-09"), extra_lines=hook)
    export_period(cfg, "2026-09", echo=lambda _: None)
    write_lake(cfg.home, [*sept, row("2026-09-20", "20.00", x_row_id="late"),
                          row("2026-10-03", "50.00")])
    rate_period(cfg, Period.parse("2026-09"), extra_lines=hook)
    rate_period(cfg, Period.parse("2026-10"), extra_lines=hook)
    con = connect(cfg.home)
    try:
        found = explain_lines(con, cfg, Period.parse("2026-10"), "acme")
    finally:
        con.close()
    [corr] = [ex for ex in found if ex.kind == "correction"]
    assert corr.matches and corr.amount == Decimal("22.00")
    assert corr.facts["now_rated"] == Decimal("132.00")
    assert corr.facts["exported"] == Decimal("110.00")
    assert "correction 132.00 - 110.00 - 0 = 22.00 USD" in corr.steps
