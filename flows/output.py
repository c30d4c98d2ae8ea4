"""Render query results as an aligned table, CSV or JSON (money kept exact)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact: every decimal kept
    if isinstance(value, datetime | date):
        return _text(value)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{c: _json(v) for c, v in zip(columns, r, strict=True)} for r in rows],
                          indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v) for v in r] for r in rows])
        return buf.getvalue().rstrip("\n")
    cells = [[_text(v) for v in r] for r in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | Decimal) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    out = [line(list(columns)), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def stream(columns: Sequence[str], batches: Iterable[Sequence[Sequence[Any]]], fmt: str,
           limit: int, echo: Callable[[str], None]) -> bool:
    """Write the rows through ``echo`` (at most ``limit``, 0 = all); True if rows were cut.

    CSV and JSON go out batch by batch; a table needs its column widths, so it
    holds at most ``limit`` rows.
    """
    kept: list[Sequence[Any]] = []
    shown = 0
    cut = False
    first = True
    if fmt == "csv":
        echo(render(columns, [], "csv"))
    elif fmt == "json":
        echo("[")
    for batch in batches:
        rows = list(batch)
        if limit and shown + len(rows) > limit:
            rows, cut = rows[:limit - shown], True
        shown += len(rows)
        if fmt == "table":
            kept += rows
        elif fmt == "csv" and rows:
            echo(render(columns, rows, "csv").split("\n", 1)[1])
        elif fmt == "json" and rows:
            text = render(columns, rows, "json")[2:-2]  # the objects, without [ and ]
            echo(("" if first else ",\n") + text)
            first = False
        if cut:
            break
    if fmt == "table":
        echo(render(columns, kept, "table"))
    elif fmt == "json":
        echo("]")
    return cut
