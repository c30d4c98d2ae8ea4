"""Checking a five-field cron expression (``[nightly] cron``) before anything deploys it.

The grammar Prefect's cron schedules accept for the fields rebill documents:
``minute hour day-of-month month day-of-week``, each ``*`` or a comma list of
values, ranges ``a-b`` and steps ``*/n`` / ``a-b/n``; months and weekdays may
be named (``JAN``, ``MON``); ``@hourly``, ``@daily``, ``@weekly``,
``@monthly``, ``@yearly`` and ``@annually`` stand for whole expressions.
"""

from __future__ import annotations

MACROS = ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names whose index + offset is the value)
FIELDS = (
    ("minute", 0, 59, (), 0),
    ("hour", 0, 23, (), 0),
    ("day of month", 1, 31, (), 0),
    ("month", 1, 12, MONTHS, 1),
    ("day of week", 0, 7, DAYS, 0),
)


def _value(text: str, low: int, high: int, names: tuple[str, ...], offset: int) -> int:
    if text.upper() in names:
        return names.index(text.upper()) + offset
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number")
    number = int(text)
    if not low <= number <= high:
        raise ValueError(f"{number} is outside {low}-{high}")
    return number


def _field(text: str, low: int, high: int, names: tuple[str, ...], offset: int) -> None:
    for item in text.split(","):
        base, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"step {step!r} is not a positive number")
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        a = _value(first, low, high, names, offset)
        if dash:
            b = _value(last, low, high, names, offset)
            if b < a:
                raise ValueError(f"range {base!r} runs backwards")
        elif step:
            raise ValueError(f"{item!r}: a step needs * or a range")


def cron_problem(expression: str) -> str | None:
    """What is wrong with ``expression``, or None if it is a valid cron expression."""
    text = expression.strip()
    if text.lower() in MACROS:
        return None
    parts = text.split()
    if len(parts) != len(FIELDS):
        return f"expected 5 fields (minute hour day month weekday), got {len(parts)}"
    for part, (name, low, high, names, offset) in zip(parts, FIELDS, strict=True):
        try:
            _field(part, low, high, names, offset)
        except ValueError as err:
            return f"{name}: {err}"
    return None
