"""HTML building blocks shared by the statement and the overview.

Pages are one self-contained file: the stylesheet is inline, charts are inline
SVG, nothing is fetched. Every value is escaped here; amounts are rounded
through :func:`rebill.money.round_money` before they are printed, and never
pass through a float.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from string import Template

from rebill.money import round_money


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def money(amount: Decimal, currency: str) -> str:
    """``1,234.50`` in ``currency``'s minor unit, half away from zero; never ``-0.00``."""
    rounded = round_money(amount, currency)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:,f}"


def money_cell(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return '<td class="num"></td>'
    cls = "num neg" if round_money(amount, currency) < 0 else "num"
    return f'<td class="{cls}">{esc(money(amount, currency))}</td>'


@dataclass(frozen=True)
class Col:
    """A table column: ``money`` columns take the row's currency from ``currency_key``."""

    title: str
    key: str
    kind: str = "text"  # text | num | money
    currency_key: str = "currency"


def table(cols: Sequence[Col], rows: Sequence[dict[str, object]], *,
          total: dict[str, object] | None = None, css: str = "") -> str:
    """A ``<table>`` with a header, one ``<tr>`` per row and an optional total row."""
    if not rows:
        return '<p class="empty">Nothing to show.</p>'
    head = "".join(
        f'<th class="num">{esc(c.title)}</th>' if c.kind != "text" else f"<th>{esc(c.title)}</th>"
        for c in cols)
    body = [_row(cols, r, "") for r in rows]
    if total is not None:
        body.append(_row(cols, total, "total"))
    cls = f' class="{css}"' if css else ""
    return (f"<table{cls}><thead><tr>{head}</tr></thead><tbody>\n"
            + "\n".join(body) + "\n</tbody></table>")


def _row(cols: Sequence[Col], row: dict[str, object], css: str) -> str:
    cells = []
    for c in cols:
        value = row.get(c.key)
        if c.kind == "money":
            amount = value if isinstance(value, Decimal) else None
            cells.append(money_cell(amount, str(row.get(c.currency_key) or "")))
        elif c.kind == "num":
            cells.append(f'<td class="num">{esc(value)}</td>')
        else:
            cells.append(f"<td>{esc(value)}</td>")
    cls = f' class="{css}"' if css else ""
    return f"<tr{cls}>{''.join(cells)}</tr>"


def cards(items: Sequence[tuple[str, str]]) -> str:
    inner = "".join(
        f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div></div>'
        for k, v in items)
    return f'<div class="cards">{inner}</div>'


def page(title: str, body: str) -> str:
    template = Template(files("rebill.flows.reports").joinpath("templates/page.html").read_text("utf-8"))
    return template.substitute(title=esc(title), body=body)
