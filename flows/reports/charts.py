"""Chart geometry for the templates' SVG macros: a column chart and a bar chart.

Geometry is computed with ``Decimal`` and printed with one decimal, so the
same data always gives the same bytes; ``macros.html`` draws it. Each bar
carries its label and its value as shown (rounded to the currency's minor
unit). A value that rounds to zero gets no bar (its column keeps its place);
negative values (credits) are drawn below the axis in another colour. Labels
near the right edge are anchored at their end, so none is clipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rebill.money import round_money

_TENTH = Decimal("0.1")
Format = Callable[[Decimal], str]


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal  # exact; rounded for display only


@dataclass(frozen=True)
class Rect:
    x: str
    y: str
    w: str
    h: str
    label: str
    value: str
    neg: bool


@dataclass(frozen=True)
class Text:
    x: str
    y: str
    text: str
    anchor: str = "middle"
    css: str = ""


@dataclass(frozen=True)
class Line:
    x1: str
    y1: str
    x2: str
    y2: str
    css: str


@dataclass
class Chart:
    kind: str  # column | bar
    title: str
    width: str = "900"
    height: str = "0"
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    empty: bool = False


def _n(x: Decimal) -> str:
    return f"{x.quantize(_TENTH):f}"


def _range(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    hi = max([Decimal(0), *values])
    lo = min([Decimal(0), *values])
    if hi == lo:
        hi = lo + 1
    return lo, hi


def _shown(bars: Sequence[Bar], currency: str) -> list[Bar]:
    return [b for b in bars if round_money(b.value, currency) != 0]


def column_chart(bars: Sequence[Bar], currency: str, title: str, fmt: Format, *,
                 label_every: int = 1) -> Chart:
    """Vertical bars left to right (one slot per day); every ``label_every``-th is labelled."""
    chart = Chart("column", title)
    if not _shown(bars, currency):
        chart.empty = True
        return chart
    width, height = Decimal(900), Decimal(260)
    left, right, top, bottom = Decimal(96), Decimal(12), Decimal(14), Decimal(34)
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = _range([b.value for b in bars])
    scale = plot_h / (hi - lo)

    def y(v: Decimal) -> Decimal:
        return top + (hi - v) * scale

    step = plot_w / len(bars)
    gap = step / 5
    chart.width, chart.height = _n(width), _n(height)
    chart.lines.append(Line(_n(left), _n(y(hi)), _n(width - right), _n(y(hi)), "grid"))
    chart.texts.append(Text(_n(left - 6), _n(y(hi) + 4), fmt(hi), "end"))
    if lo < 0:
        chart.texts.append(Text(_n(left - 6), _n(y(lo) + 4), fmt(lo), "end"))
    label_half = Decimal(34)  # half the width of a YYYY-MM-DD label at 11px
    for i, bar in enumerate(bars):
        x = left + step * i + gap / 2
        if round_money(bar.value, currency) != 0:
            y0, y1 = y(max(bar.value, Decimal(0))), y(min(bar.value, Decimal(0)))
            chart.rects.append(Rect(_n(x), _n(y0), _n(step - gap), _n(y1 - y0), bar.label,
                                    fmt(bar.value), round_money(bar.value, currency) < 0))
        if i % label_every == 0 or i == len(bars) - 1:
            mid = x + (step - gap) / 2
            anchor, tx = ("end", x + step - gap) if mid + label_half > width else ("middle", mid)
            chart.texts.append(Text(_n(tx), _n(height - bottom + 16), bar.label, anchor))
    chart.lines.append(Line(_n(left), _n(y(Decimal(0))), _n(width - right), _n(y(Decimal(0))),
                            "axis"))
    chart.texts.append(Text(_n(left - 6), _n(y(Decimal(0)) + 4), "0", "end"))
    return chart


def bar_chart(bars: Sequence[Bar], currency: str, title: str, fmt: Format) -> Chart:
    """Horizontal bars, one row each, labelled on the left with the amount on the right."""
    chart = Chart("bar", title)
    bars = _shown(bars, currency)
    if not bars:
        chart.empty = True
        return chart
    row, label_w, value_w = Decimal(24), Decimal(300), Decimal(130)
    width = Decimal(900)
    plot_w = width - label_w - value_w
    height = row * len(bars) + 8
    lo, hi = _range([b.value for b in bars])
    scale = plot_w / (hi - lo)
    zero = label_w + (0 - lo) * scale
    chart.width, chart.height = _n(width), _n(height)
    for i, bar in enumerate(bars):
        top = row * i + 4
        x0 = label_w + (min(bar.value, Decimal(0)) - lo) * scale
        x1 = label_w + (max(bar.value, Decimal(0)) - lo) * scale
        label = bar.label if len(bar.label) <= 44 else bar.label[:43] + "…"
        chart.texts.append(Text(_n(label_w - 8), _n(top + 15), label, "end"))
        chart.rects.append(Rect(_n(x0), _n(top + 3), _n(max(x1 - x0, Decimal("0.5"))),
                                _n(row - 6), bar.label, fmt(bar.value),
                                round_money(bar.value, currency) < 0))
        chart.texts.append(Text(_n(width - 4), _n(top + 15), fmt(bar.value), "end", "value"))
    chart.lines.append(Line(_n(zero), "0", _n(zero), _n(height), "axis"))
    return chart
