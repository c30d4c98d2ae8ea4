"""Display names for pricing units: ``Hrs``, ``Hours`` and ``hour`` all read ``hour``.

Only what a statement shows is normalized; the lake keeps the provider's unit.
"""

from __future__ import annotations

import re

_UNITS = {
    "hour": "hour", "hours": "hour", "hrs": "hour", "hr": "hour", "h": "hour",
    "second": "second", "seconds": "second", "secs": "second", "s": "second",
    "month": "month", "months": "month", "mo": "month",
    "gb": "GB", "gigabyte": "GB", "gigabytes": "GB", "gib": "GiB", "gibibyte": "GiB",
    "gibibytes": "GiB", "tb": "TB", "tib": "TiB", "tebibyte": "TiB", "tebibytes": "TiB",
    "unit": "unit", "units": "unit", "request": "request", "requests": "request",
    "api requests": "request", "queries": "query", "query": "query", "events": "event",
    "event": "event", "ios": "I/O", "keys": "key", "key": "key", "metrics": "metric",
    "alarms": "alarm", "lambda-gb-second": "GB-second", "lambda-gb-seconds": "GB-second",
    "gigabyte per hour": "GB-hour", "ocpu per hour": "OCPU-hour",
}


def _word(word: str) -> str:
    return _UNITS.get(word.lower(), word)


def display_unit(unit: str | None) -> str:
    """``GB-Mo`` -> ``GB-month``, ``vCPU-Hours`` -> ``vCPU-hour``, ``Units/Hour`` -> ``unit/hour``."""
    if not unit:
        return ""
    text = " ".join(unit.split())
    whole = _UNITS.get(text.lower())
    if whole is not None:
        return whole
    parts = re.split(r"([-/ ])", text)
    words = [_word(p) if p not in "-/ " else p for p in parts]
    return "".join(words).replace(" ", "-") if "/" not in text else "".join(words)
