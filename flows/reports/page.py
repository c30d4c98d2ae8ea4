"""Rendering shared by the statement and the overview: jinja2 with autoescape.

Pages are one self-contained file: the stylesheet is inline, charts are inline
SVG drawn by template macros, nothing is fetched. Every value reaches the page
through a template, escaped by jinja2 (no HTML is assembled in Python).
Amounts are rounded through :func:`rebill.money.round_money` before they are
printed, and never pass through a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from rebill.money import round_money

DEFAULT_LOCALE = "en_US"
# A tenant without a `locale` gets its currency's usual one (else en_US).
CURRENCY_LOCALES = {
    "USD": "en_US", "EUR": "de_DE", "GBP": "en_GB", "CHF": "de_CH", "CAD": "en_CA",
    "AUD": "en_AU", "NZD": "en_NZ", "JPY": "ja_JP", "SEK": "sv_SE", "NOK": "nb_NO",
    "DKK": "da_DK", "PLN": "pl_PL", "CZK": "cs_CZ", "BRL": "pt_BR", "INR": "en_IN",
}


def money(amount: Decimal, currency: str) -> str:
    """``1,234.50`` in ``currency``'s minor unit, half away from zero; never ``-0.00``."""
    rounded = round_money(amount, currency)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:,f}"


def locale_for(currency: str, configured: str | None = None) -> str:
    return configured or CURRENCY_LOCALES.get(currency, DEFAULT_LOCALE)


def local_money(amount: Decimal | None, currency: str, locale: str, symbol: bool = True) -> str:
    """``2.435,70 €`` (de_DE) or ``€2,435.70`` (en_IE): rounded once, never ``-0,00``."""
    if amount is None:
        return ""
    rounded = round_money(amount, currency)
    if rounded == 0:
        rounded = abs(rounded)
    if symbol:
        return str(format_currency(rounded, currency, locale=locale, currency_digits=True))
    places = -int(rounded.as_tuple().exponent)
    pattern = "#,##0" + ("." + "0" * places if places > 0 else "")
    return str(format_decimal(rounded, format=pattern, locale=locale))


def local_number(value: Decimal | None, locale: str, places: int = 4) -> str:
    """A quantity or unit price: up to ``places`` decimals, trailing zeros dropped."""
    if value is None:
        return ""
    q = value.quantize(Decimal(1).scaleb(-places))
    return str(format_decimal(q, format="#,##0." + "#" * places, locale=locale))


@dataclass(frozen=True)
class Col:
    """A table column: ``money`` columns take the row's currency from ``currency_key``."""

    title: str
    key: str
    kind: str = "text"  # text | num | money | percent
    currency_key: str = "currency"


def is_negative(amount: Any, currency: str) -> bool:
    return isinstance(amount, Decimal) and round_money(amount, currency) < 0


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("rebill.flows.reports", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["money"] = lambda a, c: "" if a is None else money(a, c)
    env.filters["local_money"] = local_money
    env.filters["local_number"] = local_number
    env.tests["negative"] = is_negative
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def columns(*cols: Col) -> Sequence[Col]:
    return cols
