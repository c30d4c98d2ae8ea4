"""``rebill rate`` and ``rebill status`` (no Prefect: they answer at once)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from duckdb import DuckDBPyConnection

from rebill.config import Config
from rebill.flows.common import ConfigOpt, config, fail, user_errors
from rebill.periods import Period


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
        from rebill.flows.pipeline import rate
        from rebill.periods import Period

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
        from rebill.periods import Period
        from rebill.rating import latest_rated_period
        from rebill.rating import status as rating_status

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
                    typer.echo(f"    {item.label}: {item.cost:f} {item.currency} ({item.rows} rows)")
        typer.echo(f"excluded tax: {_money(report.excluded_tax)}")
        for c in report.conservation:
            state = "ok" if c.ok else "MISMATCH (the lake changed since rating? re-run rebill rate)"
            typer.echo(
                f"conservation {c.currency}: lake {c.lake:f} = attributed {c.attributed:f} + pool "
                f"{c.pooled:f} + unallocated {c.unallocated:f} + excluded tax {c.excluded_tax:f}: {state}"
            )
        _operations(cfg, p)
        if not report.balanced:
            raise typer.Exit(1)


def _operations(cfg: Config, period: Period) -> None:
    """What ran, what is stale, export state, budgets and anomalies."""
    from datetime import UTC, datetime

    from rebill.flows.reports import anomaly_warnings, budget_warnings, stale_sources
    from rebill.normalize.catalog import connect

    today = datetime.now(UTC).date()
    con = connect(cfg.home, cfg.rebill.memory_limit)
    try:
        runs = con.execute(
            "SELECT source, max(finished_at) FILTER (WHERE status = 'ok'), arg_max(status, finished_at), "
            "arg_max(error, finished_at) FROM loads GROUP BY 1 ORDER BY 1").fetchall()
        typer.echo("\nlast loads:")
        for source, last_ok, status, error in runs:
            when = last_ok.strftime("%Y-%m-%d %H:%M UTC") if last_ok else "never"
            tail = f" (last attempt failed: {error})" if status == "failed" else ""
            typer.echo(f"  {source}: last ok {when}{tail}")
        if not runs:
            typer.echo("  none yet")
        invoices = con.execute(
            "SELECT status, coalesce(target, ''), count(*) FROM invoices WHERE period = ? "
            "GROUP BY ALL ORDER BY ALL", [period.label]).fetchall()
        typer.echo("invoices: " + (", ".join(
            f"{n} {state}" + (f" to {target}" if target else "") for state, target, n in invoices)
            or "none"))
        _receivables(con, period)
        warnings = (stale_sources(con, cfg, today) + budget_warnings(con, cfg, period, today)
                    + anomaly_warnings(con, today))
    finally:
        con.close()
    for w in warnings:
        typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)


def _receivables(con: DuckDBPyConnection, period: Period) -> None:
    """Payment status read back by ``rebill reconcile`` and any drift it found."""
    states = con.execute(
        "SELECT status, count(*) FROM receivables WHERE period = ? GROUP BY 1 ORDER BY 1",
        [period.label]).fetchall()
    if states:
        typer.echo("receivables: " + ", ".join(f"{n} {s}" for s, n in states))
    for tenant, target, ext, detail in con.execute(
            "SELECT tenant_id, target, external_id, detail FROM reconciliation "
            "WHERE period = ? ORDER BY ALL", [period.label]).fetchall():
        typer.echo(f"reconciliation: {tenant} {period} {target} {ext}: {detail}")
