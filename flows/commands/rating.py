"""``rebill rate`` and ``rebill status`` (no Prefect: they answer at once)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rebill.config import Config
from rebill.errors import RebillError
from rebill.flows.common import ConfigOpt, config, fail, require_home, user_errors
from rebill.money import round_money
from rebill.periods import Period

if TYPE_CHECKING:
    from rebill.rating.status import StatusReport


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
    """Amounts at their currency's minor unit, for people (JSON keeps them exact)."""
    return ", ".join(f"{round_money(v, c)} {c}" for c, v in sorted(amounts.items())) or "0"


def register(app: typer.Typer) -> None:
    @app.command()
    def rate(
        period: Annotated[str | None, typer.Option(
            "--period", "-p", help="billing period YYYY-MM")] = None,
        start: Annotated[str | None, typer.Option(
            help="first period (YYYY-MM or YYYY-MM-DD), with --end")] = None,
        end: Annotated[str | None, typer.Option(
            help="last period (YYYY-MM or YYYY-MM-DD), with --start")] = None,
        config_path: ConfigOpt = None,
        if_changed: Annotated[bool, typer.Option(
            "--if-changed", help="skip a period whose lake files, config, FX file and "
            "corrections inputs are unchanged since it was last rated")] = False,
    ) -> None:
        """Rate one billing period, or every period from --start to --end: invoice lines,
        draft invoices, daily sums and the rated_costs view's definition (replaced)."""
        from rebill.flows.pipeline import rate, rate_if_changed

        periods = _periods(period, start, end)
        cfg = config(config_path)
        for p in periods:
            with user_errors():
                result = rate_if_changed(cfg, p) if if_changed else rate(cfg, p)
            if result is None:
                typer.echo(f"{p}: unchanged since it was last rated, skipped")
                continue
            rows = [[t.tenant_id, t.currency, str(t.line_count), str(t.subtotal)]
                    for t in result.tenants]
            if len(periods) > 1:
                typer.echo(f"{p}:")
            typer.echo(_table(["tenant", "currency", "lines", "subtotal"], rows, {2, 3}))
            typer.echo(
                f"\n{result.period}: {result.lake_rows} cost rows, {result.rated_rows} rated rows, "
                f"{result.unallocated_rows} unallocated ({_money(result.unallocated)}), "
                f"excluded tax {_money(result.excluded_tax)}; conservation ok -> "
                f"{result.directory}")

    register_status(app)


def _periods(period: str | None, start: str | None, end: str | None) -> list[Period]:
    """--period, or every period from --start to --end; one line on a bad choice."""
    from rebill.periods import periods_between

    def parse(text: str, name: str) -> Period:
        with user_errors():
            try:  # a day (YYYY-MM-DD) names its month in a range
                return Period.parse(text[:7]) if len(text) == 10 and text[7] == "-" \
                    else Period.parse(text)
            except RebillError as err:
                raise type(err)(f"{name}: {err}") from None

    if period is not None and (start or end):
        fail("give --period, or --start and --end, not both")
    if period is not None:
        with user_errors():
            return [Period.parse(period)]
    if not (start and end):
        fail("give --period YYYY-MM, or --start and --end")
    first, last = parse(start, "--start"), parse(end, "--end")
    if last < first:
        fail(f"--end {last} is before --start {first}")
    return periods_between(first.start, last.start)


def register_status(app: typer.Typer) -> None:
    @app.command()
    def status(
        period: Annotated[str | None, typer.Option(
            "--period", "-p", help="billing period YYYY-MM (default: this month if rated, "
            "else the latest rated period)")] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
        config_path: ConfigOpt = None,
    ) -> None:
        """Per-tenant totals, unallocated cost and its top accounts and tags, conservation,
        last loads, invoice states, warnings."""
        from rebill.rating import latest_rated_period
        from rebill.rating import status as rating_status

        if fmt not in ("text", "json"):
            fail(f"--format must be text or json, not {fmt!r}")
        cfg = config(config_path)
        with user_errors():
            chosen = Period.parse(period) if period else None
        require_home(cfg)
        with user_errors():
            p = chosen or latest_rated_period(cfg.home)
            if p is None:
                fail(f"no rated period under {cfg.home}; run `rebill rate --period YYYY-MM`")
            report = rating_status(cfg, p)
        ops = _operations(cfg, p)
        if fmt == "json":
            typer.echo(json.dumps(_status_json(report, ops), indent=2))
        else:
            _status_text(report, ops)
        if not report.balanced:
            raise typer.Exit(1)


def _status_json(report: StatusReport, ops: dict[str, Any]) -> dict[str, Any]:
    def contributors(items: list[Any]) -> list[dict[str, Any]]:
        return [{"label": c.label, "cost": str(c.cost), "currency": c.currency, "rows": c.rows}
                for c in items]

    return {
        "period": report.period.label,
        "balanced": report.balanced,
        "tenants": [{"tenant_id": t.tenant_id, "name": t.name, "currency": t.currency,
                     "lines": t.line_count, "subtotal": str(t.subtotal)} for t in report.tenants],
        "unallocated": {"rows": report.unallocated_rows,
                        "amounts": {k: str(v) for k, v in sorted(report.unallocated.items())}},
        "top_accounts": contributors(report.top_accounts),
        "top_tags": contributors(report.top_tags),
        "excluded_tax": {k: str(v) for k, v in sorted(report.excluded_tax.items())},
        "conservation": [{"currency": c.currency, "lake": str(c.lake),
                          "attributed": str(c.attributed), "pooled": str(c.pooled),
                          "unallocated": str(c.unallocated), "excluded_tax": str(c.excluded_tax),
                          "ok": c.ok} for c in report.conservation],
        **ops,
    }


def _status_text(report: StatusReport, ops: dict[str, Any]) -> None:
    typer.echo(f"period {report.period}")
    rows = [[t.tenant_id, t.name or "", t.currency, str(t.line_count), str(t.subtotal)]
            for t in report.tenants]
    typer.echo(_table(["tenant", "name", "currency", "lines", "subtotal"], rows, {3, 4}))
    typer.echo(f"\nunallocated: {report.unallocated_rows} rows, {_money(report.unallocated)}")
    for title, items in (("top accounts", report.top_accounts), ("top tags", report.top_tags)):
        if items:
            typer.echo(f"  {title}:")
            for item in items:
                typer.echo(f"    {item.label}: {round_money(item.cost, item.currency)} "
                           f"{item.currency} ({item.rows} rows)")
    typer.echo(f"excluded tax: {_money(report.excluded_tax)}")
    for c in report.conservation:
        state = "ok" if c.ok else "MISMATCH (the lake changed since rating? re-run rebill rate)"
        # exact (12 decimals) only when it does not balance: then every digit matters
        def show(v: Decimal, exact: bool = not c.ok, cur: str = c.currency) -> str:
            return f"{v:f}" if exact else str(round_money(v, cur))
        typer.echo(
            f"conservation {c.currency}: lake {show(c.lake)} = attributed {show(c.attributed)} + "
            f"pool {show(c.pooled)} + unallocated {show(c.unallocated)} + excluded tax "
            f"{show(c.excluded_tax)}: {state}")
    typer.echo("\nlast loads:")
    for load in ops["loads"]:
        tail = f" (last attempt failed: {load['error']})" if load["status"] == "failed" else ""
        typer.echo(f"  {load['source']}: last ok {load['last_ok'] or 'never'}{tail}")
    if not ops["loads"]:
        typer.echo("  none yet")
    typer.echo("invoices: " + (", ".join(
        f"{i['count']} {i['status']}" + (f" to {i['target']}" if i["target"] else "")
        for i in ops["invoices"]) or "none"))
    for line in receivable_lines(ops, report.period):
        typer.echo(line)
    for w in ops["warnings"]:
        typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)


def receivable_lines(ops: dict[str, Any], period: Period) -> list[str]:
    """Payment status read back by ``rebill reconcile`` and any drift it found, for people."""
    out = []
    if ops["receivables"]:
        out.append("receivables: " + ", ".join(f"{r['count']} {r['status']}"
                                               for r in ops["receivables"]))
    out += [f"reconciliation: {d['tenant_id']} {period} {d['target']} {d['external_id']}: "
            f"{d['detail']}" for d in ops["reconciliation"]]
    return out


def _operations(cfg: Config, period: Period) -> dict[str, Any]:
    """What ran, export state, and warnings (stale sources, budgets, anomalies)."""
    from datetime import UTC, datetime

    from rebill.flows.reports import anomaly_warnings, budget_warnings, stale_sources
    from rebill.normalize.catalog import connect

    today = datetime.now(UTC).date()
    con = connect(cfg.home, cfg.rebill.memory_limit)
    try:
        runs = con.execute(
            "SELECT source, max(finished_at) FILTER (WHERE status = 'ok'), arg_max(status, finished_at), "
            "arg_max(error, finished_at) FROM loads GROUP BY 1 ORDER BY 1").fetchall()
        invoices = con.execute(
            "SELECT status, coalesce(target, ''), count(*) FROM invoices WHERE period = ? "
            "GROUP BY ALL ORDER BY ALL", [period.label]).fetchall()
        # payment status read back by `rebill reconcile`, and any drift it found
        receivables = con.execute(
            "SELECT status, count(*) FROM receivables WHERE period = ? GROUP BY 1 ORDER BY 1",
            [period.label]).fetchall()
        drift = con.execute(
            "SELECT tenant_id, target, external_id, detail FROM reconciliation "
            "WHERE period = ? ORDER BY ALL", [period.label]).fetchall()
        warnings = (stale_sources(con, cfg, today) + budget_warnings(con, cfg, period, today)
                    + anomaly_warnings(con, today))
    finally:
        con.close()
    return {
        "loads": [{"source": source, "status": status, "error": error,
                   "last_ok": last_ok.strftime("%Y-%m-%d %H:%M UTC") if last_ok else None}
                  for source, last_ok, status, error in runs],
        "invoices": [{"status": st, "target": target, "count": n} for st, target, n in invoices],
        "receivables": [{"status": st, "count": n} for st, n in receivables],
        "reconciliation": [{"tenant_id": tn, "target": tg, "external_id": ext, "detail": d}
                           for tn, tg, ext, d in drift],
        "warnings": warnings,
    }
