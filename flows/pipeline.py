"""Plain functions the flows call: plan which partitions to load, load one.

Nothing here imports Prefect, so the same work runs from a flow, a test or
a script. A failing source is reported in its :class:`LoadOutcome` instead of
stopping the others.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from rebill.atomic import clean_stale_staging
from rebill.config import Config
from rebill.connectors.base import Connector, Context
from rebill.connectors.registry import build
from rebill.errors import ConfigError, RebillError, RetriableConnectorError
from rebill.layout import tmp_dir
from rebill.normalize.catalog import ensure_layout
from rebill.normalize.lake import load_partition
from rebill.normalize.store import use as use_lake
from rebill.periods import Period, periods_between

if TYPE_CHECKING:
    from rebill.rating import RateResult

log = logging.getLogger("rebill.ingest")


@dataclass(frozen=True)
class LoadOutcome:
    source: str
    period: str
    status: str  # loaded | unchanged | failed
    rows: int = 0
    billed_cost: dict[str, Decimal] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


def context(cfg: Config, today: date) -> Context:
    return Context(home=cfg.home, base_dir=cfg.base_dir, today=today)


def connector(cfg: Config, source_id: str, today: date) -> Connector:
    if source_id not in cfg.sources:
        known = ", ".join(sorted(cfg.sources)) or "none configured"
        raise ConfigError(f"unknown source {source_id!r} (sources: {known})")
    where = str(cfg.file) if cfg.file else "rebill.toml"
    return build(source_id, cfg.sources[source_id], context(cfg, today), where)


def open_periods(cfg: Config, today: date) -> list[Period]:
    """The current month, and the previous one until its close day has passed."""
    current = Period.of(today)
    if today.day <= cfg.rebill.close_day:
        return [current.previous(), current]
    return [current]


def plan(
    cfg: Config,
    today: date,
    sources: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> tuple[list[tuple[str, Period]], list[LoadOutcome]]:
    """(source, period) pairs to load, and the sources that failed to plan.

    The requested range, else the open periods. A source that lists its own
    periods (FOCUS files) is asked for every period it holds when no range is
    given: unchanged ones cost a stat call. A source whose listing fails is
    reported (period ``-``) and the others go on.
    """
    chosen = sources or sorted(cfg.sources)
    if not chosen:
        raise ConfigError("no sources configured: add a [sources.<id>] table to rebill.toml")
    if (start is None) != (end is None):
        raise ConfigError("give both --start and --end, or neither")
    if start and end and end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    clean_stale_staging(tmp_dir(cfg.home))  # what killed runs left
    # unknown ids and bad configs are the user's error: stop before any work
    connectors = {source_id: connector(cfg, source_id, today) for source_id in chosen}
    pairs: list[tuple[str, Period]] = []
    failed: list[LoadOutcome] = []
    for source_id, conn in connectors.items():
        try:
            if start is not None and end is not None:
                periods = conn.periods(start, end)
            elif getattr(conn, "lists_periods", False):
                periods = conn.periods(date.min, today)
            else:
                opened = open_periods(cfg, today)
                periods = conn.periods(opened[0].start, today)
        except RebillError as err:
            log.error("%s failed: %s", source_id, err)
            failed.append(LoadOutcome(source_id, "-", "failed", error=str(err)))
            continue
        pairs += [(source_id, p) for p in periods]
    return pairs, failed


def backfill_range(start: date, end: date) -> list[Period]:
    return periods_between(start, end - timedelta(days=1) if end > start else end)


def load_one(cfg: Config, source_id: str, period: Period, today: date,
             force: bool = False) -> LoadOutcome:
    """Load one partition; user errors become a failed outcome, retriable ones raise."""
    use_lake(cfg)  # a Dask worker gets the configuration, not the loading process
    ensure_layout(cfg.home)
    began = time.monotonic()
    rows_seen = [0]

    def progress(n: int) -> None:
        rows_seen[0] += n
        log.info("  %s %s: %d rows...", source_id, period, rows_seen[0])

    try:
        conn = connector(cfg, source_id, today)
        result = load_partition(cfg.home, conn, period, force=force, progress=progress)
    except RetriableConnectorError:
        raise
    except RebillError as err:
        log.error("%s %s failed: %s", source_id, period, err)
        return LoadOutcome(source_id, period.label, "failed", error=str(err),
                           seconds=time.monotonic() - began)
    return LoadOutcome(source_id, period.label, result.status, result.rows,
                       result.billed_cost, seconds=time.monotonic() - began)


def load_all(cfg: Config, pairs: list[tuple[str, Period]], today: date,
             force: bool = False) -> list[LoadOutcome]:
    """The local engine: each planned partition in turn, in this process."""
    return [load_one(cfg, source_id, period, today, force) for source_id, period in pairs]


def rate(cfg: Config, period: Period) -> RateResult:
    """Rate ``period`` with the corrections of earlier exported periods appended.

    The one place every command and flow rates through, so a re-rated,
    already exported period always turns into correction lines.
    """
    from rebill.exporters.corrections import rating_hook
    from rebill.rating import rate_period

    return rate_period(cfg, period, extra_lines=rating_hook(cfg))
