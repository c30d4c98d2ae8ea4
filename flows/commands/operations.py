"""Operations: the nightly run and its Prefect deployments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from rebill.flows.commands.core import Engine, report_outcomes
from rebill.flows.common import (
    ConfigOpt,
    config,
    engine_for,
    fail,
    quiet_prefect_env,
    setup_logging,
    user_errors,
)
from rebill.flows.nightly import NightlyReport
from rebill.flows.pipeline import RunFailedError


def register(app: typer.Typer) -> None:
    @app.command()
    def nightly(
        config_path: ConfigOpt = None,
        today: Annotated[str | None, typer.Option(
            help="run as if today were this day (YYYY-MM-DD), for catch-up and tests")] = None,
        wait: Annotated[float, typer.Option(
            help="seconds to wait for another run's lock before giving up")] = 0.0,
        engine: Engine = "auto",
    ) -> None:
        """Ingest open periods, re-rate month to date, export the closed period once."""
        setup_logging()
        engine = engine_for(engine)
        cfg = config(config_path)
        try:
            day = date.fromisoformat(today) if today else datetime.now(UTC).date()
        except ValueError:
            fail(f"--today: {today!r} is not a date (YYYY-MM-DD)")
        path = str((config_path or cfg.file or Path("rebill.toml")).resolve()) \
            if (config_path or cfg.file) else None
        with user_errors():
            if engine == "local":
                from rebill.atomic import home_lock
                from rebill.flows.nightly import run_nightly
                from rebill.flows.pipeline import load_all
                from rebill.normalize.catalog import refresh_catalog

                with home_lock(cfg.home, "nightly", wait=wait):
                    report = run_nightly(
                        cfg, day, lambda pairs: load_all(cfg, pairs, day),
                        echo=typer.echo)
                    refresh_catalog(cfg.home)
            else:
                quiet_prefect_env()
                from rebill.flows.ingest import task_runner
                from rebill.flows.runlog import quiet_console_failures
                from rebill.flows.schedule import nightly_flow

                quiet_console_failures()

                try:
                    report = nightly_flow.with_options(task_runner=task_runner(cfg))(
                        config_path=path, today=day, wait=wait)
                except RunFailedError as failed:  # the flow run is Failed; print what it did
                    assert isinstance(failed.report, NightlyReport)
                    report = failed.report
        typer.echo(f"nightly {day}:")
        report_outcomes(report.loads)
        if report.rated:
            typer.echo(f"  rated {', '.join(report.rated)}")
        if report.unchanged:
            typer.echo(f"  unchanged, not re-rated: {', '.join(report.unchanged)}")
        if report.export_note:
            typer.echo(f"  {report.export_note}")
        for w in report.warnings:
            typer.secho(f"  warning: {w}", fg=typer.colors.YELLOW, err=True)
        for e in report.errors:  # failed partitions are on their own line above
            if not e.startswith("ingest "):
                typer.secho(f"  error: {e}", fg=typer.colors.RED, err=True)
        if not report.ok:
            raise typer.Exit(1)

    @app.command()
    def deploy(
        config_path: ConfigOpt = None,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="show the deployments instead of serving them")] = False,
        prefect_yaml: Annotated[Path | None, typer.Option(
            "--prefect-yaml", help="write a prefect.yaml (work pool deployments, schedule "
            "from [nightly]) to this path instead of serving")] = None,
        pool: Annotated[str, typer.Option(help="work pool named in --prefect-yaml")] = "rebill",
    ) -> None:
        """Serve the nightly ([nightly] cron + timezone) and backfill deployments on the
        Prefect server of PREFECT_API_URL (never on a throw-away embedded one)."""
        cfg = config(config_path)
        if cfg.file is None:
            fail("rebill deploy needs a config file (--config or ./rebill.toml)")
        if prefect_yaml is not None:
            from rebill.flows.schedule import prefect_yaml_text

            prefect_yaml.write_text(prefect_yaml_text(cfg, str(cfg.file), pool))
            typer.echo(f"wrote {prefect_yaml}: rebill-nightly cron {cfg.nightly.cron!r} "
                       f"({cfg.nightly.timezone}), rebill-backfill; work pool {pool!r}")
            return
        quiet_prefect_env()
        from prefect.settings import PREFECT_API_URL

        api = PREFECT_API_URL.value()  # the environment, else the active Prefect profile
        if not api and not dry_run:
            fail("PREFECT_API_URL is not set: schedules never fire on Prefect's throw-away "
                 "embedded server; start one (`prefect server start`) and set "
                 "PREFECT_API_URL=http://127.0.0.1:4200/api")
        from rebill.flows.schedule import deployments, serve

        with user_errors():
            found = deployments(cfg, str(cfg.file))
            for d in found:
                crons = [getattr(s.schedule, "cron", None) for s in (d.schedules or [])]
                tz = [getattr(s.schedule, "timezone", None) for s in (d.schedules or [])]
                when = f"cron {crons[0]!r} ({tz[0]})" if crons else "run by hand"
                typer.echo(f"{d.flow_name}/{d.name}: {when}")
            if dry_run:
                return
            typer.echo(f"serving on {api} (Ctrl-C to stop)")
            serve(cfg, str(cfg.file))
