"""Billing periods: one calendar month, UTC, half-open ``[start, end)``."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from rebill.errors import ConfigError

PERIOD_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """A billing period: one calendar month, UTC, half-open ``[start, end)``."""

    start: date

    def __post_init__(self) -> None:
        if self.start.day != 1:
            raise ValueError(f"a period starts on the 1st, got {self.start}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """``YYYY-MM`` exactly (``26-1`` or ``2026-1`` are refused, not guessed)."""
        match = PERIOD_RE.match(text.strip())
        if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
            raise ConfigError(f"bad period {text!r}: expected YYYY-MM")
        return cls(date(int(match[1]), int(match[2]), 1))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.replace(day=1))

    @property
    def label(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def end(self) -> date:
        return (self.start + timedelta(days=32)).replace(day=1)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.start.year, self.start.month)[1]

    @property
    def start_ts(self) -> datetime:
        return datetime(self.start.year, self.start.month, 1, tzinfo=UTC)

    @property
    def end_ts(self) -> datetime:
        e = self.end
        return datetime(e.year, e.month, 1, tzinfo=UTC)

    def next(self) -> Period:
        return Period(self.end)

    def previous(self) -> Period:
        return Period.of(self.start - timedelta(days=1))

    def __str__(self) -> str:
        return self.label


def periods_between(since: date, until: date) -> list[Period]:
    """Every period touching the inclusive day range ``[since, until]``."""
    out: list[Period] = []
    p = Period.of(since)
    while p.start <= until:
        out.append(p)
        p = p.next()
    return out
