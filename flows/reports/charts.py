"""Inline SVG charts: a column chart (daily cost) and a bar chart (cost by service).

Geometry is computed with ``Decimal`` and printed with one decimal, so the
same data always gives the same bytes. Each bar carries ``data-label`` and
``data-value`` (the amount rounded to the currency's minor unit) and a
``<title>`` tooltip; negative values (credits) are drawn below the axis in
another colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rebill.flows.reports.page import esc, money
from rebill.money import round_money

_TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal  # exact; rounded for display only


def _n(x: Decimal) -> str:
    return f"{x.quantize(_TENTH):f}"


def _range(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    hi = max([Decimal(0), *values])
    lo = min([Decimal(0), *values])
    if hi == lo:
        hi = lo + 1
    return lo, hi


def _bar(box: tuple[Decimal, Decimal, Decimal, Decimal], bar: Bar, currency: str) -> str:
    x, y, w, h = box
    shown = money(bar.value, currency)
    neg = " neg" if round_money(bar.value, currency) < 0 else ""
    return (f'<rect class="bar{neg}" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
            f'data-label="{esc(bar.label)}" data-value="{esc(shown)}">'
            f"<title>{esc(bar.label)}: {esc(shown)} {esc(currency)}</title></rect>")


def column_chart(bars: Sequence[Bar], currency: str, title: str, *,
                 label_every: int = 1) -> str:
    """Vertical bars left to right (one per day); every ``label_every``-th bar is labelled."""
    if not bars:
        return '<p class="empty">No costs.</p>'
    width, height = Decimal(900), Decimal(260)
    left, right, top, bottom = Decimal(70), Decimal(10), Decimal(14), Decimal(34)
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = _range([b.value for b in bars])
    scale = plot_h / (hi - lo)

    def y(v: Decimal) -> Decimal:
        return top + (hi - v) * scale

    step = plot_w / len(bars)
    gap = step / 5
    parts = [
        f'<svg class="chart column-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{esc(title)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}">',
        f"<title>{esc(title)}</title>",
        f'<line class="grid" x1="{_n(left)}" y1="{_n(y(hi))}" x2="{_n(width - right)}" '
        f'y2="{_n(y(hi))}"/>',
        f'<text x="{_n(left - 6)}" y="{_n(y(hi) + 4)}" text-anchor="end">'
        f"{esc(money(hi, currency))}</text>",
    ]
    if lo < 0:
        parts.append(f'<text x="{_n(left - 6)}" y="{_n(y(lo) + 4)}" text-anchor="end">'
                     f"{esc(money(lo, currency))}</text>")
    for i, bar in enumerate(bars):
        x = left + step * i + gap / 2
        y0, y1 = y(max(bar.value, Decimal(0))), y(min(bar.value, Decimal(0)))
        parts.append(_bar((x, y0, step - gap, y1 - y0), bar, currency))
        if i % label_every == 0:
            parts.append(f'<text x="{_n(x + (step - gap) / 2)}" y="{_n(height - bottom + 16)}" '
                         f'text-anchor="middle">{esc(bar.label)}</text>')
    parts.append(f'<line class="axis" x1="{_n(left)}" y1="{_n(y(Decimal(0)))}" '
                 f'x2="{_n(width - right)}" y2="{_n(y(Decimal(0)))}"/>')
    parts.append(f'<text x="{_n(left - 6)}" y="{_n(y(Decimal(0)) + 4)}" text-anchor="end">'
                 f"0</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(bars: Sequence[Bar], currency: str, title: str) -> str:
    """Horizontal bars, one row each, labelled on the left with the amount on the right."""
    if not bars:
        return '<p class="empty">No costs.</p>'
    row, label_w, value_w = Decimal(24), Decimal(300), Decimal(120)
    width = Decimal(900)
    plot_w = width - label_w - value_w
    height = row * len(bars) + 8
    lo, hi = _range([b.value for b in bars])
    scale = plot_w / (hi - lo)
    zero = label_w + (0 - lo) * scale
    parts = [
        f'<svg class="chart bar-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{esc(title)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}">',
        f"<title>{esc(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        top = row * i + 4
        x0 = label_w + (min(bar.value, Decimal(0)) - lo) * scale
        x1 = label_w + (max(bar.value, Decimal(0)) - lo) * scale
        label = bar.label if len(bar.label) <= 44 else bar.label[:43] + "…"
        parts.append(f'<text x="{_n(label_w - 8)}" y="{_n(top + 15)}" text-anchor="end">'
                     f"{esc(label)}</text>")
        parts.append(_bar((x0, top + 3, max(x1 - x0, Decimal("0.5")), row - 6), bar, currency))
        parts.append(f'<text class="value" x="{_n(width - 4)}" y="{_n(top + 15)}" '
                     f'text-anchor="end">{esc(money(bar.value, currency))} {esc(currency)}</text>')
    parts.append(f'<line class="axis" x1="{_n(zero)}" y1="0" x2="{_n(zero)}" '
                 f'y2="{_n(height)}"/>')
    parts.append("</svg>")
    return "\n".join(parts)
