"""Core commands: ingest, backfill, sql, check, demo."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from rebill.flows.common import ConfigOpt, config, fail, quiet_prefect_env, setup_logging, user_errors
from rebill.flows.output import stream
from rebill.flows.pipeline import LoadOutcome

Engine = Annotated[
    str,
    typer.Option("--engine", envvar="REBILL_ENGINE",
                 help="prefect (flows, default) or local (same work, no Prefect start-up)"),
]
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
               today: date | None = None) -> list[LoadOutcome]:
    """Run the ingest with the chosen engine; returns one outcome per partition."""
    cfg = config(config_path)
    today = today or datetime.now(UTC).date()
    path = str(config_path.resolve()) if config_path else (str(cfg.file) if cfg.file else None)
    with user_errors():
        if engine == "local":
            from rebill.flows.pipeline import load_all, plan
            from rebill.normalize.catalog import refresh_catalog

            pairs, outcomes = plan(cfg, today, sources, start, end)
            outcomes += load_all(cfg, pairs, today, force)
            refresh_catalog(cfg.home)
            return outcomes
        if engine != "prefect":
            fail(f"--engine must be prefect or local, not {engine!r}")
        quiet_prefect_env()
        from rebill.flows.ingest import ingest_flow, task_runner

        flow = ingest_flow.with_options(task_runner=task_runner(cfg))
        return flow(config_path=path, sources=sources, start=start, end=end,
                    force=force, today=today)


def report_outcomes(outcomes: list[LoadOutcome]) -> int:
    """Print one line per partition; the number of failures."""
    failed = 0
    for o in outcomes:
        if o.status == "failed":
            failed += 1
            typer.secho(f"  {o.source} {o.period}: FAILED: {o.error}", fg=typer.colors.RED, err=True)
        elif o.status == "unchanged":
            typer.echo(f"  {o.source} {o.period}: unchanged")
        else:
            totals = ", ".join(f"{v} {k}" for k, v in sorted(o.billed_cost.items()))
            typer.echo(f"  {o.source} {o.period}: {o.rows} rows loaded ({totals or 'empty'})")
    if not outcomes:
        typer.echo("  nothing to load")
    return failed


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        config_path: ConfigOpt = None,
        source: SourceOpt = None,
        start: Annotated[str | None, typer.Option(help="first day (YYYY-MM-DD)")] = None,
        end: Annotated[str | None, typer.Option(help="last day (YYYY-MM-DD)")] = None,
        force: ForceOpt = False,
        engine: Engine = "prefect",
    ) -> None:
        """Ingest every source's open billing periods (or those touching --start..--end)."""
        setup_logging()
        outcomes = run_ingest(config_path, source, _day(start, "--start"), _day(end, "--end"),
                              force, engine)
        if report_outcomes(outcomes):
            raise typer.Exit(1)

    @app.command()
    def backfill(
        start: Annotated[str, typer.Option(help="first day (YYYY-MM-DD)")],
        end: Annotated[str, typer.Option(help="last day (YYYY-MM-DD)")],
        config_path: ConfigOpt = None,
        source: SourceOpt = None,
        force: ForceOpt = False,
        engine: Engine = "prefect",
    ) -> None:
        """Re-load every billing period touching START..END (idempotent)."""
        setup_logging()
        s, e = _day(start, "--start"), _day(end, "--end")
        outcomes = run_ingest(config_path, source, s, e, force, engine)
        if report_outcomes(outcomes):
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
        from rebill.normalize.analyst import analyst_connect, run_query

        with user_errors():
            con = analyst_connect(cfg.home, cfg.rebill.memory_limit)
            columns, batches = run_query(con, query)
            cut = stream(columns, batches, fmt, limit, typer.echo)
        if cut:
            typer.secho(f"(first {limit} rows shown; use --limit to see more, --limit 0 for all)",
                        err=True)

    @app.command()
    def check(config_path: ConfigOpt = None) -> None:
        """Validate the configuration, sources, FX file and cross-references."""
        from rebill.flows.checks import run_checks

        cfg = config(config_path)
        with user_errors():
            warnings = run_checks(cfg)
        for w in warnings:
            typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
        where = cfg.file or "defaults (no rebill.toml)"
        typer.echo(f"ok: {where}: {len(cfg.sources)} sources, {len(cfg.tenants)} tenants, "
                   f"{len(cfg.shared)} shared pools, {len(warnings)} warnings")

    @app.command()
    def demo(
        home: Annotated[Path, typer.Option(help="where to build the demo (replaced)")] = Path(
            "rebill-demo"),
        engine: Engine = "prefect",
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
