"""``rebill rate`` and ``rebill status`` (no Prefect: they answer at once)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer

from flows.common import ConfigOpt, config, fail, user_errors


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    def fmt(row: list[str]) -> str:
        return "  ".join(
            str(v).rjust(w) if i in right else str(v).ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
    lines = [fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
    return "\n".join(lines)


def _money(amounts: dict[str, Decimal]) -> str:
    return ", ".join(f"{v} {c}" for c, v in sorted(amounts.items())) or "0"


def register(app: typer.Typer) -> None:
    @app.command()
    def rate(
        period: Annotated[str, typer.Option("--period", "-p", help="billing period YYYY-MM")],
        config_path: ConfigOpt = None,
    ) -> None:
        """Rate one billing period: rated rows, invoice lines and draft invoices (replaced)."""
        from connectors.base import Period
        from flows.pipeline import rate

        cfg = config(config_path)
        with user_errors():
            result = rate(cfg, Period.parse(period))
        rows = [
            [t.tenant_id, t.currency, str(t.line_count), str(t.subtotal)] for t in result.tenants
        ]
        typer.echo(_table(["tenant", "currency", "lines", "subtotal"], rows, {2, 3}))
        typer.echo(
            f"\n{result.period}: {result.lake_rows} cost rows, {result.rated_rows} rated rows, "
            f"{result.unallocated_rows} unallocated ({_money(result.unallocated)}), "
            f"excluded tax {_money(result.excluded_tax)}; conservation ok -> {result.directory}"
        )

    @app.command()
    def status(
        period: Annotated[str | None, typer.Option(
            "--period", "-p", help="billing period YYYY-MM (default: this month if rated, "
            "else the latest rated period)")] = None,
        config_path: ConfigOpt = None,
    ) -> None:
        """Per-tenant totals, unallocated cost and its top accounts and tags, conservation."""
        from connectors.base import Period
        from rating import latest_rated_period
        from rating import status as rating_status

        cfg = config(config_path)
        with user_errors():
            p = Period.parse(period) if period else latest_rated_period(cfg.home)
            if p is None:
                fail(f"no rated period under {cfg.home}; run `rebill rate --period YYYY-MM`")
            report = rating_status(cfg, p)
        typer.echo(f"period {report.period}")
        rows = [[t.tenant_id, t.name or "", t.currency, str(t.line_count), str(t.subtotal)]
                for t in report.tenants]
        typer.echo(_table(["tenant", "name", "currency", "lines", "subtotal"], rows, {3, 4}))
        typer.echo(f"\nunallocated: {report.unallocated_rows} rows, {_money(report.unallocated)}")
        for title, items in (("top accounts", report.top_accounts), ("top tags", report.top_tags)):
            if items:
                typer.echo(f"  {title}:")
                for item in items:
                    typer.echo(f"    {item.label}: {item.cost} {item.currency} ({item.rows} rows)")
        typer.echo(f"excluded tax: {_money(report.excluded_tax)}")
        for c in report.conservation:
            state = "ok" if c.ok else "MISMATCH (the lake changed since rating? re-run rebill rate)"
            typer.echo(
                f"conservation {c.currency}: lake {c.lake} = attributed {c.attributed} + pool "
                f"{c.pooled} + unallocated {c.unallocated} + excluded tax {c.excluded_tax}: {state}"
            )
        if not report.balanced:
            raise typer.Exit(1)
