from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rebill.config import Config
from rebill.datasets import INVOICE_LINES, RATED_COSTS
from rebill.flows.reports import anomaly_warnings, budget_warnings, find_anomalies, stale_sources
from rebill.flows.reports.budgets import elapsed_days, project
from rebill.layout import rated_dir
from rebill.normalize.catalog import connect, ensure_layout
from rebill.normalize.loads import LoadRecord, append_load
from rebill.periods import Period

SEPT = Period(date(2024, 9, 1))


def _rated(tenant: str, day: date, amount: str, *, service: str = "Compute",
           currency: str = "EUR") -> dict[str, Any]:
    value = Decimal(amount)
    return {
        "tenant_id": tenant, "period": Period.of(day).label,
        "x_row_id": f"{tenant}-{day}-{service}",
        "x_source": "s", "day": day, "kind": "usage", "pool": None, "pricing_rule": None,
        "provider": "AWS", "service": service, "charge_category": "Usage", "line_key": service,
        "cost": value, "markup": Decimal(0), "rated": value, "currency": currency,
        "fx_rate": Decimal(1), "amount": value, "tenant_currency": currency,
    }


def _write(home: Path, period: Period, rated: list[dict[str, Any]],
           lines: list[dict[str, Any]] | None = None) -> None:
    ensure_layout(home)
    out = rated_dir(home, period.label)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rated, RATED_COSTS), out / "rated_costs.parquet")
    pq.write_table(pa.Table.from_pylist(lines or [], INVOICE_LINES), out / "invoice_lines.parquet")


def _fee(tenant: str, amount: str, currency: str = "EUR") -> dict[str, Any]:
    return {"tenant_id": tenant, "period": SEPT.label, "line_no": 9, "kind": "fee",
            "description": "Managed service", "provider": None, "service": None,
            "amount": Decimal(amount), "currency": currency, "taxed": True,
            "quantity": None, "unit": None}


@pytest.mark.parametrize(("today", "last_day", "expected"), [
    (date(2024, 9, 11), date(2024, 9, 10), 10),
    (date(2024, 9, 11), None, 10),
    (date(2024, 9, 11), date(2024, 9, 11), 11),  # same-day data already there
    (date(2024, 9, 1), None, 0),
    (date(2024, 10, 3), date(2024, 9, 30), 30),  # closed month: the whole month
    (date(2024, 8, 20), None, 0),
])
def test_elapsed_days(today: date, last_day: date | None, expected: int) -> None:
    assert elapsed_days(SEPT, today, last_day) == expected


def test_project_is_exact_decimal() -> None:
    assert project(Decimal("40.00"), 10, 30) == Decimal("120")
    assert project(Decimal("10"), 3, 31) == Decimal("10") * 31 / 3


def test_budget_warnings(make_config: Callable[[dict[str, Any]], Config]) -> None:
    cfg = make_config({"tenants": [
        {"id": "over", "currency": "EUR", "budget": "110.00"},
        {"id": "under", "currency": "EUR", "budget": "125.00"},
        {"id": "nobudget", "currency": "EUR"},
    ]})
    rated = [_rated(t, date(2024, 9, d), "4.00") for t in ("over", "under", "nobudget")
             for d in range(1, 11)]
    _write(cfg.home, SEPT, rated, [_fee("over", "5.00")])
    con = connect(cfg.home)
    try:
        warnings = budget_warnings(con, cfg, SEPT, date(2024, 9, 11))
        assert warnings == [
            "budget: over is projected at 125.00 EUR for 2024-09, over its budget of 110.00 EUR "
            "(40.00 EUR in 10 of 30 days, fees 5.00 EUR)"]
        # early in the month with nothing elapsed: nothing to project
        assert budget_warnings(con, cfg, Period(date(2024, 10, 1)), date(2024, 10, 1)) == []
    finally:
        con.close()


def test_anomalies_view_flags_spikes_only(make_config: Callable[[dict[str, Any]], Config]) -> None:
    cfg = make_config({})
    rated = []
    for d in range(1, 31):
        day = date(2024, 9, d)
        rated.append(_rated("t", day, "30.00" if d == 18 else "2.00"))
        if d == 4:  # a spike with too little history is not flagged
            rated.append(_rated("t", day, "50.00", service="Early"))
        if d % 2 == 0:  # sparse small costs: median 0, but under the absolute floor
            rated.append(_rated("t", day, "0.50", service="Tiny"))
    rated.append(_rated("t", date(2024, 9, 25), "9.00", service="Tiny"))  # over the floor
    _write(cfg.home, SEPT, rated)
    con = connect(cfg.home)
    try:
        (typ,), = con.execute("SELECT typeof(trailing_median) FROM anomalies LIMIT 1").fetchall()
        assert typ == "DECIMAL(38,12)"
        found = find_anomalies(con)
    finally:
        con.close()
    assert [(a.day, a.service, a.amount, a.trailing_median) for a in found] == [
        (date(2024, 9, 18), "Compute", Decimal("30.00"), Decimal("2.00")),
        (date(2024, 9, 25), "Tiny", Decimal("9.00"), Decimal("0.25")),
    ]
    con = connect(cfg.home)
    try:
        warnings = anomaly_warnings(con, date(2024, 9, 20))
    finally:
        con.close()
    assert warnings == ["anomaly: t AWS Compute on 2024-09-18: 30.00 EUR against a 14-day "
                        "median of 2.00 EUR"]


def test_stale_sources(make_config: Callable[[dict[str, Any]], Config], tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    cfg = make_config({"sources": {
        "fresh": {"type": "focus", "path": "x/*.csv"},
        "old": {"type": "focus", "path": "x/*.csv"},
        "never": {"type": "focus", "path": "x/*.csv"},
    }})
    ensure_layout(cfg.home)
    now = datetime(2024, 9, 20, 3, 0, tzinfo=UTC)

    def load(source: str, at: datetime, status: str, error: str | None = None) -> None:
        append_load(cfg.home, LoadRecord(f"{source}{at}", source, "2024-09", "f", 1,
                                         Decimal(1), "USD", at, at, status, error))

    load("fresh", now - timedelta(days=1), "ok")
    load("old", now - timedelta(days=5), "ok")
    load("old", now - timedelta(days=1), "failed", "s3: access denied")
    load("never", now, "failed", None)
    con = connect(cfg.home)
    try:
        assert stale_sources(con, cfg, now.date()) == [
            "stale: source old last loaded successfully on 2024-09-15 (5 days ago); "
            "the last attempt failed: s3: access denied",
            "stale: source never has never loaded successfully; the last attempt failed: "
            "no message",
        ]
        assert stale_sources(con, cfg, date(2024, 9, 17)) == [
            "stale: source never has never loaded successfully; the last attempt failed: "
            "no message"]
    finally:
        con.close()
