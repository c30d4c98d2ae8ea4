"""``rebill report`` (statements and the finance overview) and ``rebill explain``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rebill.flows.common import ConfigOpt, config, fail, require_home, user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        period: Annotated[str, typer.Option("--period", "-p", help="billing period YYYY-MM")],
        tenant: Annotated[str | None, typer.Option(
            "--tenant", "-t", help="only this tenant's statement (no overview)")] = None,
        out: Annotated[Path | None, typer.Option(
            "--out", "-o", help="folder to write to (default: <home>/reports/<period>)")] = None,
        pdf: Annotated[bool, typer.Option(
            "--pdf", help="also print each statement to PDF (needs Chromium)")] = False,
        config_path: ConfigOpt = None,
    ) -> None:
        """Write per-tenant statements (HTML + usage CSV) and the finance overview (HTML)."""
        from rebill.flows.reports import write_reports
        from rebill.normalize.catalog import connect
        from rebill.periods import Period

        cfg = config(config_path)
        with user_errors():
            p = Period.parse(period)
        require_home(cfg)
        with user_errors():
            con = connect(cfg.home, cfg.rebill.memory_limit)
            try:
                paths = write_reports(con, cfg, p, tenant=tenant, out=out, pdf=pdf)
            finally:
                con.close()
        for path in paths:
            typer.echo(str(path))

    @app.command()
    def explain(
        tenant: Annotated[str, typer.Option("--tenant", "-t", help="tenant id")],
        period: Annotated[str, typer.Option("--period", "-p", help="billing period YYYY-MM")],
        line: Annotated[int | None, typer.Option(
            "--line", "-l", help="only this line_no (default: every line)")] = None,
        rows: Annotated[bool, typer.Option(
            "--rows", help="also list the rated rows (x_source, x_row_id, ...)")] = False,
        fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
        config_path: ConfigOpt = None,
    ) -> None:
        """How an invoice line was computed: its rows, rules, FX and rounding, to the cent."""
        import json

        from rebill.flows.explain import explain_lines, json_ready
        from rebill.flows.explain_text import render_text
        from rebill.normalize.catalog import connect
        from rebill.periods import Period

        if fmt not in ("text", "json"):
            fail(f"--format must be text or json, not {fmt!r}")
        cfg = config(config_path)
        with user_errors():
            p = Period.parse(period)
            con = connect(cfg.home, cfg.rebill.memory_limit)
            try:
                found = explain_lines(con, cfg, p, tenant, line, rows)
            finally:
                con.close()
        if fmt == "json":
            typer.echo(json.dumps(json_ready(
                {"tenant_id": tenant, "period": p.label,
                 "lines": [ex.as_dict() for ex in found]}), indent=2))
        else:
            typer.echo(render_text(tenant, p.label, found, rows))
        wrong = [ex.line_no for ex in found if not ex.matches]
        if wrong:
            fail(f"explain: line(s) {', '.join(map(str, wrong))} of {tenant} {p.label} could not "
                 "be reproduced from the current config and data (re-rate the period?)")
