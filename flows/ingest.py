"""Prefect flows for ingest and backfill (sources in parallel).

Flows take the config file's path, not the config (secrets are never
parameters: the config holds only the names of environment variables).
Each (source, period) load is one task; retriable errors are retried with
backoff, others fail only that task. Prefect runs in its embedded mode
unless ``PREFECT_API_URL`` points at a server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from rebill.config import Config
from rebill.errors import is_retriable
from rebill.flows.common import open_config
from rebill.flows.pipeline import LoadOutcome, RunFailedError, RunReport, load_one, plan, rerate_reloaded
from rebill.flows.runlog import run_logs
from rebill.normalize.catalog import ensure_layout, refresh_catalog
from rebill.periods import Period


def task_runner(cfg: Config | None = None) -> Any:
    """Threads by default; Dask (prefect-dask) when ``[nightly] dask = true``.

    Dask needs a Prefect server (``PREFECT_API_URL``): in embedded mode every
    worker would start its own. Apply with ``flow.with_options(task_runner=...)``.
    """
    if cfg is not None and cfg.nightly.dask:
        from prefect_dask.task_runners import DaskTaskRunner

        return DaskTaskRunner(cluster_kwargs={"n_workers": cfg.nightly.dask_workers,
                                              "threads_per_worker": 2})
    return ThreadPoolTaskRunner(max_workers=4)


def _retry_if_retriable(task: object, task_run: object, state: object) -> bool:
    try:
        state.result()  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - classify whatever the task raised
        return is_retriable(exc)
    return False


@task(name="load-partition", retries=3, retry_delay_seconds=[10, 60, 300],
      retry_condition_fn=_retry_if_retriable, task_run_name="load {source_id} {period_label}")
def load_task(config_path: str | None, source_id: str, period_label: str, today: date,
              force: bool = False) -> LoadOutcome:
    with run_logs():  # a Dask worker is another process: attach there too
        cfg = open_config(Path(config_path) if config_path else None)
        return load_one(cfg, source_id, Period.parse(period_label), today, force)


def run_loads(cfg: Config, config_path: str | None, pairs: list[tuple[str, Period]],
              today: date, force: bool) -> list[LoadOutcome]:
    ensure_layout(cfg.home)
    futures = [load_task.submit(config_path, s, p.label, today, force) for s, p in pairs]
    outcomes: list[LoadOutcome] = []
    for (source_id, period), fut in zip(pairs, futures, strict=True):
        state = fut.wait() or fut.state
        if state.is_completed():
            outcomes.append(fut.result())
        else:
            try:
                fut.result()
                err = "failed"
            except Exception as exc:  # noqa: BLE001 - reported per source, run continues
                err = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            outcomes.append(LoadOutcome(source_id, period.label, "failed", error=err))
    refresh_catalog(cfg.home)
    return outcomes


@flow(name="rebill-ingest", task_runner=task_runner(), log_prints=False)
def ingest_flow(config_path: str | None = None, sources: list[str] | None = None,
                start: date | None = None, end: date | None = None,
                force: bool = False, today: date | None = None) -> RunReport:
    """Ingest each source's open (or requested) billing periods; Failed if any failed."""
    with run_logs():
        cfg = open_config(Path(config_path) if config_path else None)
        today = today or datetime.now(UTC).date()
        pairs, unplanned = plan(cfg, today, sources, start, end)
        report = RunReport(unplanned + run_loads(cfg, config_path, pairs, today, force))
        return report.raise_if_failed("ingest")


@flow(name="rebill-backfill", task_runner=task_runner(), log_prints=False)
def backfill_flow(start: date, end: date, sources: list[str] | None = None,
                  config_path: str | None = None, force: bool = False,
                  today: date | None = None) -> RunReport:
    """Re-load every billing period touching ``[start, end]``, then re-rate what changed."""
    with run_logs():
        cfg = open_config(Path(config_path) if config_path else None)
        today = today or datetime.now(UTC).date()
        pairs, unplanned = plan(cfg, today, sources, start, end)
        report = RunReport(unplanned + run_loads(cfg, config_path, pairs, today, force))
        report.rated, report.errors = rerate_reloaded(cfg, report.loads, today)
        return report.raise_if_failed("backfill")


__all__ = ["RunFailedError", "backfill_flow", "ingest_flow", "load_task", "run_loads", "task_runner"]
