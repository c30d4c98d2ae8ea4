from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from rebill.money import display_money, plain_decimal
from rebill.normalize.units import normalize_unit, unit_sql

CASES = [
    ("Hrs", "Hours"), ("hour", "Hours"), ("Hours", "Hours"), ("GB-Mo", "GB-Months"),
    ("gibibyte month", "GiB-Months"), ("GB", "GB"), ("GiB", "GiB"), ("LCU-Hrs", "LCU-Hours"),
    ("Requests", "Requests"), ("request", "Requests"), ("vCPU-Hours", "vCPU-Hours"),
    ("Obj-Month", "Obj-Month"), (None, None),
]


@pytest.mark.parametrize(("given", "want"), CASES)
def test_unit_sql_and_python_agree(given: str | None, want: str | None) -> None:
    assert normalize_unit(given) == want
    got = duckdb.execute(f"SELECT {unit_sql('u')} FROM (SELECT CAST(? AS VARCHAR) AS u)",
                         [given]).fetchall()[0][0]
    assert got == want


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (Decimal("0E-12"), "USD", "0.00"), (Decimal("1.005"), "USD", "1.01"),
    (Decimal("-1.005"), "EUR", "-1.01"), (Decimal("12.5"), "JPY", "13"),
    (Decimal("1.0005"), "KWD", "1.001"),
])
def test_display_money_at_minor_unit(amount: Decimal, currency: str, shown: str) -> None:
    assert display_money(amount, currency) == shown


def test_plain_decimal_never_exponent() -> None:
    assert plain_decimal(Decimal("0E-12")) == "0.000000000000"
    assert plain_decimal(Decimal("1E+2")) == "100"
