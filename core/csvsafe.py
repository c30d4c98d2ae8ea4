"""CSV files for people: cells a spreadsheet would run as formulas are neutralized.

OWASP's CSV-injection rule: a text cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading ``'`` so Excel, LibreOffice
and Google Sheets show it as text (``=HYPERLINK(...)`` from a provider's
description stays inert). Numbers stay numbers: a cell that is a plain
decimal (``-12.50``, ``+3``, ``1e-5``) is left alone, so negative amounts and
credits keep working in sums. Every CSV rebill writes for customers and
finance goes through :func:`writer`; ``rebill sql --format csv`` does not
(analysts get their data exactly as stored; see docs/analysts.md).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralize(value: Any) -> Any:
    """``value``, with a leading ``'`` if it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not NUMBER.match(value):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`neutralize`."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralize(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: IO[str]) -> SafeWriter:
    return SafeWriter(out)
