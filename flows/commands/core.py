"""Core commands: ingest, backfill, sql, check, demo."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from rebill.flows.common import (
    ConfigOpt,
    config,
    engine_for,
    fail,
    quiet_prefect_env,
    require_home,
    setup_logging,
    user_errors,
)
from rebill.flows.output import stream
from rebill.flows.pipeline import LoadOutcome, RunFailedError, RunReport, validate_request
from rebill.money import plain_decimal, round_money
from rebill.periods import periods_between

Engine = Annotated[
    str,
    typer.Option("--engine", envvar="REBILL_ENGINE",
                 help="auto (default: Prefect flows when PREFECT_API_URL is set, else in "
                      "this process), prefect or local")]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", "-s", help="source id (repeatable)")]
DEFAULT_SQL_LIMIT = 1000
ForceOpt = Annotated[bool, typer.Option("--force", help="reload even if the fingerprint is unchanged")]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name}: {value!r} is not a date (YYYY-MM-DD)")


def run_ingest(config_path: Path | None, sources: list[str] | None, start: date | None,
               end: date | None, force: bool, engine: str,
               today: date | None = None, rerate: bool = False) -> RunReport:
    """Run the ingest (and for a backfill the re-rating) with the chosen engine.

    Arguments and config are checked here, before any flow or server starts.
    """
    engine = engine_for(engine)
    cfg = config(config_path)
    today = today or datetime.now(UTC).date()
    path = str(config_path.resolve()) if config_path else (str(cfg.file) if cfg.file else None)
    with user_errors():
        validate_request(cfg, sources, start, end)
        if engine == "local":
            from rebill.flows.pipeline import load_all, plan, rerate_reloaded
            from rebill.normalize.catalog import refresh_catalog

            pairs, unplanned = plan(cfg, today, sources, start, end)
            report = RunReport(unplanned + load_all(cfg, pairs, today, force))
            refresh_catalog(cfg.home)
            if rerate:
                report.rated, report.errors = rerate_reloaded(cfg, report.loads, today)
            return report
        quiet_prefect_env()
        from rebill.flows.ingest import backfill_flow, ingest_flow, task_runner
        from rebill.flows.runlog import quiet_console_failures

        quiet_console_failures()

        try:
            if rerate and start is not None and end is not None:
                return backfill_flow.with_options(task_runner=task_runner(cfg))(
                    start=start, end=end, sources=sources, config_path=path, force=force,
                    today=today)
            return ingest_flow.with_options(task_runner=task_runner(cfg))(
                config_path=path, sources=sources, start=start, end=end, force=force,
                today=today)
        except RunFailedError as failed:
            assert isinstance(failed.report, RunReport)
            return failed.report


def _amounts(amounts: dict[str, Decimal]) -> str:
    """Money at the currency's minor unit, for people (the lake keeps every decimal)."""
    return ", ".join(f"{round_money(v, k)} {k}" for k, v in sorted(amounts.items()))


def report_outcomes(outcomes: list[LoadOutcome], start: date | None = None,
                    end: date | None = None) -> int:
    """One line per partition, one per source naming the periods it had no data for;
    returns the number of failures."""
    failed = 0
    for o in outcomes:
        if o.status == "failed":
            failed += 1
            typer.secho(f"  {o.source} {o.period}: FAILED: {o.error}", fg=typer.colors.RED, err=True)
        elif o.status == "unchanged":
            typer.echo(f"  {o.source} {o.period}: unchanged")
        else:
            money = _amounts(o.billed_cost) or "empty"
            rounded = (f"; {o.rounded_values} values had digits beyond 12 decimals, rounded "
                       f"by {plain_decimal(o.rounded_amount)} in total (see loads)"
                       if o.rounded_values else "")
            typer.echo(f"  {o.source} {o.period}: {o.rows} rows loaded ({money}{rounded})")
    if start is not None and end is not None:
        wanted = [p.label for p in periods_between(start, end)]
        for source in sorted({o.source for o in outcomes}):
            mine = {o.period for o in outcomes if o.source == source}
            if "-" in mine:
                continue
            empty = [p for p in wanted if p not in mine]
            if empty:
                typer.echo(f"  {source}: no data for {', '.join(empty)}")
    if not outcomes:
        typer.echo("  nothing to load")
    return failed


def report_run(report: RunReport, start: date | None = None, end: date | None = None) -> bool:
    """Print a run's lines; True when nothing failed."""
    failed = report_outcomes(report.loads, start, end)
    if report.rated:
        typer.echo(f"  rated {', '.join(report.rated)}")
    for e in report.errors:
        typer.secho(f"  error: {e}", fg=typer.colors.RED, err=True)
    return not failed and not report.errors


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        config_path: ConfigOpt = None,
        source: SourceOpt = None,
        start: Annotated[str | None, typer.Option(help="first day (YYYY-MM-DD)")] = None,
        end: Annotated[str | None, typer.Option(help="last day (YYYY-MM-DD)")] = None,
        force: ForceOpt = False,
        engine: Engine = "auto",
    ) -> None:
        """Ingest every source's open billing periods (or those touching --start..--end)."""
        setup_logging()
        s, e = _day(start, "--start"), _day(end, "--end")
        if not report_run(run_ingest(config_path, source, s, e, force, engine), s, e):
            raise typer.Exit(1)

    @app.command()
    def backfill(
        start: Annotated[str, typer.Option(help="first day (YYYY-MM-DD)")],
        end: Annotated[str, typer.Option(help="last day (YYYY-MM-DD)")],
        config_path: ConfigOpt = None,
        source: SourceOpt = None,
        force: ForceOpt = False,
        engine: Engine = "auto",
    ) -> None:
        """Re-load every billing period touching START..END (idempotent), then re-rate the
        periods that changed (an exported one turns into correction lines)."""
        setup_logging()
        s, e = _day(start, "--start"), _day(end, "--end")
        if not report_run(run_ingest(config_path, source, s, e, force, engine, rerate=True), s, e):
            raise typer.Exit(1)

    @app.command()
    def sql(
        query: Annotated[str, typer.Argument(help="a read-only query over the catalog's views")],
        config_path: ConfigOpt = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
        limit: Annotated[int, typer.Option(
            "--limit", help="show at most N rows (0: all; says when it cut)")] = DEFAULT_SQL_LIMIT,
    ) -> None:
        """Query the catalog read-only: costs, loads, rated_costs, invoice_lines, ...

        Only SELECT (WITH, DESCRIBE, SHOW, SUMMARIZE) and plain EXPLAIN run; files
        outside the home cannot be read.
        """
        if fmt not in ("table", "csv", "json"):
            fail(f"--format must be table, csv or json, not {fmt!r}")
        if limit < 0:
            fail(f"--limit must be 0 (all rows) or more, not {limit}")
        cfg = config(config_path)
        from rebill import duck
        from rebill.normalize.analyst import analyst_connect, read_statements, run_query

        with user_errors():  # a write is refused before anything, even a missing home
            read_statements(duck.connect(memory_limit=None), query)
        require_home(cfg)  # a read never creates a home
        with user_errors():
            con = analyst_connect(cfg.home, cfg.rebill.memory_limit)
            columns, batches = run_query(con, query)
            cut = stream(columns, batches, fmt, limit, typer.echo)
        if cut:
            typer.secho(f"(first {limit} rows shown; use --limit to see more, --limit 0 for all)",
                        err=True)

    @app.command()
    def check(
        config_path: ConfigOpt = None,
        connect: Annotated[bool, typer.Option(
            "--connect", help="also make one cheap authenticated call per source and "
            "billing target (one line each)")] = False,
    ) -> None:
        """Validate the configuration, sources, secrets' environment variables, FX coverage
        of the open periods and cross-references (with --connect: reach every API)."""
        from rebill.flows.checks import fx_gaps, missing_secrets, run_checks

        cfg = config(config_path)
        if cfg.file is None:
            fail("no rebill.toml found: pass --config, set REBILL_CONFIG or create ./rebill.toml")
        today = datetime.now(UTC).date()
        with user_errors():
            warnings = run_checks(cfg)
            problems = missing_secrets(cfg, probed=connect) + fx_gaps(cfg, today)
        for w in warnings:
            typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
        for p in problems:
            typer.secho(f"error: {p}", fg=typer.colors.RED, err=True)
        if connect:
            from rebill.flows.connect_check import probe_all

            for probe in probe_all(cfg, today):
                if probe.ok:
                    typer.echo(f"  {probe.name}: ok ({probe.detail})")
                else:
                    problems.append(probe.detail)
                    typer.secho(f"  {probe.name}: FAILED: {probe.detail}", fg=typer.colors.RED)
        summary = (f"{cfg.file}: {len(cfg.sources)} sources, {len(cfg.tenants)} tenants, "
                   f"{len(cfg.shared)} shared pools, {len(warnings)} warnings")
        if problems:
            typer.secho(f"FAILED: {summary}, {len(problems)} problems", fg=typer.colors.RED,
                        err=True)
            raise typer.Exit(1)
        typer.echo(f"ok: {summary}")

    @app.command()
    def demo(
        home: Annotated[Path, typer.Option(help="where to build the demo (replaced)")] = Path(
            "rebill-demo"),
        engine: Engine = "auto",
        config_path: Annotated[Path | None, typer.Option(
            "--config", "-c", help="demo config to use instead of data/demo/rebill.toml "
            "(its home is replaced by --home)")] = None,
        all_samples: Annotated[bool, typer.Option(
            "--all", help="also the AWS CUR, GCP, DigitalOcean and Linode samples")] = False,
    ) -> None:
        """Run the whole pipeline on the bundled sample data into a fresh home."""
        from rebill.flows.demo import run_demo

        setup_logging()
        with user_errors():
            run_demo(home.resolve(), engine, config_path.resolve() if config_path else None,
                     clouds=all_samples)
