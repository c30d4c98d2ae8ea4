"""Spread an amount over the UTC days a span covers, exactly.

Monthly invoices (DigitalOcean, Linode) bill items that cover a span of
hours. rebill's rows are daily, so each item becomes one row per day it
touches, weighted by the seconds of the span falling in that day (the same as
hours, but exact for partial hours). Each day's share is rounded half away
from zero to 12 decimals; the last day takes the remainder, so the shares sum
to the item's amount exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rebill.money import round12

DAY = timedelta(days=1)


@dataclass(frozen=True)
class DayShare:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    seconds: int  # seconds of the span in [start, end)
    fraction: Decimal  # seconds / span seconds (exact division to 28 digits)
    amount: Decimal  # this day's share, 12 decimals

    @property
    def hours(self) -> Decimal:
        return round12(Decimal(self.seconds) / 3600)


def _midnight(ts: datetime) -> datetime:
    return datetime(ts.year, ts.month, ts.day, tzinfo=UTC)


def split_days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The ``[start, end)`` span cut at UTC midnights (one piece for an empty span)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        day = _midnight(start)
        return [(day, day + DAY)]
    pieces: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        stop = min(_midnight(cursor) + DAY, end)
        pieces.append((cursor, stop))
        cursor = stop
    return pieces


def spread(amount: Decimal, start: datetime, end: datetime) -> list[DayShare]:
    """``amount`` split over the days of ``[start, end)`` in proportion to time.

    An empty or inverted span puts the whole amount on ``start``'s day (the
    row then covers that whole day, so ChargePeriodStart < ChargePeriodEnd).
    """
    pieces = split_days(start, end)
    if end <= start:
        day_start, day_end = pieces[0]
        return [DayShare(day_start, day_end, 0, Decimal(1), round12(amount))]
    seconds = [int((b - a).total_seconds()) for a, b in pieces]
    total = sum(seconds)
    shares: list[DayShare] = []
    allotted = Decimal(0)
    for i, ((a, b), secs) in enumerate(zip(pieces, seconds, strict=True)):
        fraction = Decimal(secs) / Decimal(total)
        if i == len(pieces) - 1:
            share = amount - allotted
        else:
            share = round12(amount * secs / total)
            allotted += share
        shares.append(DayShare(a, b, secs, fraction, share))
    return shares


def spread_days_evenly(amount: Decimal, first: datetime, days: int) -> list[DayShare]:
    """``amount`` split evenly over ``days`` whole days from midnight ``first``."""
    start = _midnight(first)
    return spread(amount, start, start + days * DAY)
