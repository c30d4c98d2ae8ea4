"""Prefect flows for the nightly run and its deployments (``rebill deploy``).

``rebill deploy`` serves two deployments from this process (Prefect's
``serve``): ``rebill-nightly`` on the configured cron and timezone, and
``rebill-backfill`` to run by hand (``prefect deployment run
rebill-backfill/rebill-backfill -p start=... -p end=...``). Schedules fire
only on a running Prefect server (``prefect server start``); ``prefect.yaml``
at the repository root declares the same deployments for work pools.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow

from rebill.atomic import home_lock
from rebill.config import Config
from rebill.flows.common import open_config
from rebill.flows.ingest import backfill_flow, run_loads, task_runner
from rebill.flows.nightly import NightlyReport, run_nightly


@flow(name="rebill-nightly", task_runner=task_runner(), log_prints=False)
def nightly_flow(config_path: str | None = None, today: date | None = None,
                 wait: float = 0.0) -> NightlyReport:
    """Ingest open periods, re-rate month to date, export the closed period once."""
    cfg = open_config(Path(config_path) if config_path else None)
    today = today or datetime.now(UTC).date()
    with home_lock(cfg.home, "nightly", wait=wait):
        return run_nightly(cfg, today, lambda pairs: run_loads(cfg, config_path, pairs,
                                                                today, False))


def deployments(cfg: Config, config_path: str) -> list[Any]:
    """The nightly (cron + timezone) and manual backfill deployments."""
    from prefect.schedules import Cron

    runner = task_runner(cfg)
    nightly = nightly_flow.with_options(task_runner=runner).to_deployment(
        name="rebill-nightly",
        parameters={"config_path": config_path},
        schedules=[Cron(cfg.nightly.cron, timezone=cfg.nightly.timezone)],
        description="Ingest, re-rate and export the closed period (rebill nightly).",
    )
    backfill = backfill_flow.with_options(task_runner=runner).to_deployment(
        name="rebill-backfill",
        parameters={"config_path": config_path},
        description="Re-load a date range by hand: -p start=YYYY-MM-DD -p end=YYYY-MM-DD.",
    )
    return [nightly, backfill]


def serve(cfg: Config, config_path: str) -> None:  # pragma: no cover - blocks forever
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(cfg, config_path))
