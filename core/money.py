"""Money arithmetic: the one place where amounts are rounded.

Python's ``Decimal`` rounds half-even by default and DuckDB's ``round`` half
away from zero. rebill rounds half away from zero everywhere (``ROUND_HALF_UP``
in :mod:`decimal` terms, which is symmetric around zero), at two precisions
only: 12 decimals for intermediate values and the currency's minor unit for
invoice lines.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from rebill.errors import ConfigError, RebillError

ROUNDING = ROUND_HALF_UP  # half away from zero, symmetric for negatives
SCALE = 12
_Q12 = Decimal(1).scaleb(-SCALE)

# ISO 4217 minor units that differ from 2.
_MINOR_UNITS: dict[str, int] = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0,
    "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0,
    "XOF": 0, "XPF": 0,
}


def minor_units(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit (2 unless ISO says otherwise)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half away from zero to ``currency``'s minor unit."""
    exp = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exp, rounding=ROUNDING)


def round12(amount: Decimal) -> Decimal:
    """Round ``amount`` half away from zero to 12 decimals (intermediate precision)."""
    return amount.quantize(_Q12, rounding=ROUNDING)


def parse_decimal(value: object, what: str, *, error: type[RebillError] = ConfigError,
                  json_numbers: bool = False, thousands: str | None = None) -> Decimal:
    """The one parser of amounts and rates from text, config or JSON: exact, finite.

    ``what`` names the value in the one-line ``error`` raised for anything else
    (None, booleans, text that is not a plain decimal, NaN, infinity).
    Floats are refused unless ``json_numbers``: then they are JSON numbers an
    SDK already parsed, and ``repr`` gives back the shortest literal that
    round-trips, i.e. the text the API sent. ``thousands`` is a grouping
    separator to drop first (config amounts accept ``"1,000.00"``).
    """
    if isinstance(value, bool) or value is None:
        raise error(f"{what}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not json_numbers:
            raise error(f"{what}: write amounts as strings (\"{value}\"), floats are not exact")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if thousands:
            text = text.replace(thousands, "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise error(f"{what}: {value!r} is not a number") from None
    else:
        raise error(f"{what}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise error(f"{what}: {value!r} is not a finite number")
    return result


def parse_percent(value: object, what: str) -> Decimal:
    """Parse ``"15%"`` / ``"-5%"`` / ``"0.5%"`` into a fraction (``Decimal("0.15")``)."""
    if not isinstance(value, str) or not value.strip().endswith("%"):
        raise ConfigError(f"{what}: expected a percentage such as \"15%\", got {value!r}")
    return parse_decimal(value.strip()[:-1], what, thousands=",") / 100
