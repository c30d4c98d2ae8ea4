"""PricingUnit in FOCUS's unit format, whatever the provider wrote.

FOCUS (UnitFormat attribute) spells units as plural words with ``-`` between a
size and a time unit: ``Hours``, ``GB-Months``, ``GiB-Hours``, ``Requests``.
Providers write ``Hrs`` and ``GB-Mo`` (AWS), ``hour`` and ``gibibyte month``
(GCP). normalize rewrites ``PricingUnit`` (and ``ConsumedUnit``) with the
table below, in one place for every source, and keeps the provider's own
``PricingUnit`` in ``x_PricingUnitOriginal`` when it changed. Units not in the
table are kept as written: a unit is never guessed. Decimal (``GB``) and
binary (``GiB``) sizes stay distinct, as FOCUS requires.
"""

from __future__ import annotations

from rebill.sql import literal

# Whole units (compared case-insensitively, after trimming).
UNITS: dict[str, str] = {
    "hrs": "Hours", "hr": "Hours", "hour": "Hours", "hours": "Hours",
    "mo": "Months", "month": "Months", "months": "Months",
    "day": "Days", "days": "Days",
    "second": "Seconds", "seconds": "Seconds",
    "minute": "Minutes", "minutes": "Minutes", "min": "Minutes",
    "gb-mo": "GB-Months", "gb-month": "GB-Months", "gb-months": "GB-Months",
    "gb-hrs": "GB-Hours", "gb-hr": "GB-Hours", "gb-hour": "GB-Hours", "gb-hours": "GB-Hours",
    "gb-second": "GB-Seconds", "gb-seconds": "GB-Seconds",
    "lambda-gb-second": "GB-Seconds",
    "gb": "GB", "tb": "TB", "mb": "MB", "gib": "GiB", "tib": "TiB", "mib": "MiB",
    "gibibyte": "GiB", "tebibyte": "TiB", "mebibyte": "MiB", "byte": "Bytes", "bytes": "Bytes",
    "gibibyte month": "GiB-Months", "gibibyte hour": "GiB-Hours",
    "gibibyte second": "GiB-Seconds", "tebibyte month": "TiB-Months",
    "mebibyte second": "MiB-Seconds",
    "request": "Requests", "requests": "Requests",
    "count": "Count",
    "vcpu-hours": "vCPU-Hours", "vcpu-hour": "vCPU-Hours", "vcpu-hrs": "vCPU-Hours",
    "ios": "IOs", "io": "IOs",
}

# Suffixes of compound AWS units (``LCU-Hrs``, ``ACU-Hr``, ``IdleLCU-Hr``).
SUFFIXES: tuple[tuple[str, str], ...] = (
    ("-Hrs", "-Hours"), ("-Hr", "-Hours"), ("-hrs", "-Hours"), ("-Mo", "-Months"),
)


def unit_sql(column: str) -> str:
    """SQL giving ``column`` (a quoted VARCHAR expression) in FOCUS unit format.

    The whole units are one MAP lookup: a ``CASE lower(trim(x)) WHEN ...`` of
    the table evaluates ``lower(trim(x))`` once per entry (48): 3.7 s
    of a 1M-row CUR ingest (PricingUnit, ConsumedUnit, x_PricingUnitOriginal).
    """
    pairs = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in sorted(UNITS.items()))
    suffixes = " ".join(
        f"WHEN ends_with({column}, {literal(s)}) THEN "
        f"left({column}, length({column}) - {len(s)}) || {literal(r)}"
        for s, r in SUFFIXES)
    return (f"coalesce(MAP {{{pairs}}}[lower(trim({column}))], "
            f"CASE {suffixes} ELSE {column} END)")


def normalize_unit(unit: str | None) -> str | None:
    """The Python twin of :func:`unit_sql` (docs and tests)."""
    if unit is None:
        return None
    found = UNITS.get(unit.strip().lower())
    if found is not None:
        return found
    for suffix, replacement in SUFFIXES:
        if unit.endswith(suffix):
            return unit[: -len(suffix)] + replacement
    return unit
