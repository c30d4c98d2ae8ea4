"""``rebill report``: tenant statements and the finance overview of a period."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rebill.flows.common import ConfigOpt, config, require_home, user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        period: Annotated[str, typer.Option("--period", "-p", help="billing period YYYY-MM")],
        tenant: Annotated[str | None, typer.Option(
            "--tenant", "-t", help="only this tenant's statement (no overview)")] = None,
        out: Annotated[Path | None, typer.Option(
            "--out", "-o", help="folder to write to (default: <home>/reports/<period>)")] = None,
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
                paths = write_reports(con, cfg, p, tenant=tenant, out=out)
            finally:
                con.close()
        for path in paths:
            typer.echo(str(path))
