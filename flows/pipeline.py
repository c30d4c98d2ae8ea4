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
    rounded_values: int = 0  # source values with digits beyond 12 decimals
    rounded_amount: Decimal = Decimal(0)


@dataclass
class RunReport:
    """What an ingest or backfill did: one outcome per partition, periods re-rated."""

    loads: list[LoadOutcome] = field(default_factory=list)
    rated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [f"ingest {o.source} {o.period}: {o.error}" for o in self.loads
                if o.status == "failed"] + self.errors

    def raise_if_failed(self, what: str) -> RunReport:
        """Self when all went well, else RunFailedError naming every failure (for Prefect)."""
        if self.failures:
            raise RunFailedError(f"{what} failed: " + "; ".join(self.failures), self)
        return self


class RunFailedError(RebillError):
    """A run finished with failures; ``report`` holds what was done (the flow ends Failed)."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[type, tuple[str, object]]:
        return (RunFailedError, (str(self), self.report))


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


def validate_request(cfg: Config, sources: list[str] | None, start: date | None,
                     end: date | None) -> list[str]:
    """The source ids to load; raises ConfigError on a bad request (before any work)."""
    chosen = sources or sorted(cfg.sources)
    if not chosen:
        raise ConfigError("no sources configured: add a [sources.<id>] table to rebill.toml")
    if (start is None) != (end is None):
        raise ConfigError("give both --start and --end, or neither")
    if start and end and end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    unknown = [s for s in chosen if s not in cfg.sources]
    if unknown:
        known = ", ".join(sorted(cfg.sources)) or "none configured"
        raise ConfigError(f"--source: unknown source {unknown[0]!r} (sources: {known})")
    return chosen


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
    chosen = validate_request(cfg, sources, start, end)
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
            log.error("%s failed: %s", source_id, err, extra={"reported": True})
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
        log.error("%s %s failed: %s", source_id, period, err, extra={"reported": True})
        return LoadOutcome(source_id, period.label, "failed", error=str(err),
                           seconds=time.monotonic() - began)
    return LoadOutcome(source_id, period.label, result.status, result.rows,
                       result.billed_cost, seconds=time.monotonic() - began,
                       rounded_values=result.rounded_values,
                       rounded_amount=result.rounded_amount)


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


def rate_if_changed(cfg: Config, period: Period) -> RateResult | None:
    """Rate ``period`` unless its published outputs were rated from today's inputs.

    The inputs (lake files, config, FX file, corrections inputs, rating code) are
    fingerprinted by :mod:`rebill.rating.inputs`; an equal fingerprint means
    rating again would write the same outputs, so nothing is read or written
    (None). The nightly run and the re-rate after a load go through here;
    ``rebill rate`` always rates unless given ``--if-changed``.
    """
    from rebill.rating.inputs import unchanged

    if unchanged(cfg, period):
        log.info("rate %s: unchanged, skipped", period)
        return None
    return rate(cfg, period)


def rerate_reloaded(cfg: Config, outcomes: list[LoadOutcome],
                    today: date) -> tuple[list[str], list[str]]:
    """Re-rate every period a load changed; (rated periods, one error line each).

    When one of them was already exported, the open periods are re-rated too:
    the difference becomes correction lines there (exporters.corrections). A
    period whose inputs did not change is skipped (:func:`rate_if_changed`).
    """
    from rebill.exporters.ledger import read_ledger

    reloaded = sorted({Period.parse(o.period) for o in outcomes if o.status == "loaded"})
    exported = {e.period for e in read_ledger(cfg.home)}
    todo = list(reloaded)
    if any(p.label in exported for p in reloaded):
        todo += [p for p in open_periods(cfg, today) if p not in todo]
    rated: list[str] = []
    errors: list[str] = []
    for period in sorted(todo):
        try:
            if rate_if_changed(cfg, period) is not None:
                rated.append(period.label)
        except RebillError as err:
            log.error("rate %s failed: %s", period, err, extra={"reported": True})
            errors.append(f"rate {period}: {str(err).splitlines()[0]}")
    return rated, errors
