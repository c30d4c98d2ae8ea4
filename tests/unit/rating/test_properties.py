"""Hypothesis properties: conservation, exact shares, rounding bound, isolation, determinism."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rebill.money import round_money
from tests.unit.rating.lakebuild import lines_of, rate, rated_costs, row, tenant

pytestmark = pytest.mark.slow  # seconds each: Prefect, subprocesses or many examples

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

FX = "date,base,quote,rate\n" + "".join(
    f"2026-10-{d:02d},USD,EUR,0.9{d:02d}7\n2026-10-{d:02d},EUR,USD,1.0{d:02d}3\n"
    for d in range(1, 32)
)

costs = st.decimals(min_value=D("-50"), max_value=D("500"), places=6, allow_nan=False)
rows_st = st.lists(
    st.tuples(
        st.integers(1, 31), costs, st.sampled_from(["A", "B", "C", "Z"]),
        st.sampled_from(["Amazon EC2", "Amazon S3", "Support"]), st.sampled_from(["USD", "EUR"]),
        st.sampled_from(["Usage", "Usage", "Credit", "Tax"]),
    ),
    min_size=0, max_size=12,
)
configs = st.fixed_dictionaries({
    "allocate": st.sampled_from(["even", "weights", "proportional"]),
    "b_start": st.integers(1, 31),
    "markup": st.sampled_from(["0%", "15%", "-5%", "33.333%"]),
    "c_currency": st.sampled_from(["USD", "EUR"]),
    "tax": st.sampled_from(["exclude", "passthrough"]),
})


def _rows(spec: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [
        row(f"2026-10-{d:02d}", str(c), SubAccountId=a, ServiceName=s, BillingCurrency=cur,
            ChargeCategory=cat)
        for d, c, a, s, cur, cat in spec
    ]


def _config(c: dict[str, Any], pool: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rebill": {"provider_tax": c["tax"]},
        "fx": {"path": "fx.csv"},
        "tenants": [
            tenant("a", {"account": "A"}, markup=c["markup"]),
            tenant("b", {"account": "B"}, start=f"2026-10-{c['b_start']:02d}"),
            tenant("c", {"account": "C"}, currency=c["c_currency"], minimum="7.00"),
        ],
        "pricing": [{"service": "Amazon S3", "markup": "7.5%"}],
    }
    if pool:
        data["shared"] = [{"name": "Support", "match": [{"service": "Support"}],
                           "allocate": c["allocate"], "weights": {"a": "1.5", "b": "1", "c": "3"}}]
    return data


def _run(spec, c, pool=True, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        (path / "fx.csv").write_text(FX)
        result = rate(path, _rows(spec) + list(extra), _config(c, pool))
        rated = rated_costs(result)
        # inputs.json names this run's lake files (paths, mtimes): not an output
        files = {p.name: p.read_bytes() for p in result.directory.iterdir()
                 if p.name != "inputs.json"}
        return result, rated, files


@SETTINGS
@given(rows_st, configs)
def test_conservation_shares_and_rounding(spec, c):
    result, rated, _ = _run(spec, c)
    assert all(x.ok for x in result.conservation)
    lake: dict[str, D] = defaultdict(D)
    for _d, cost, _a, _s, cur, _cat in spec:
        lake[cur] += D(str(cost))
    assert {x.currency: x.lake for x in result.conservation} == dict(lake.items())
    # shares sum exactly to each pool row
    by_row: dict[str, D] = defaultdict(D)
    for r in rated:
        if r["kind"] == "shared":
            by_row[r["x_row_id"]] += r["cost"]
    cost_of = {f"r{i + 1:06d}": D(str(s[1])) for i, s in enumerate(spec)}
    for row_id, total in by_row.items():
        assert total == cost_of[row_id]
    # each line is the exact sum of the view's individually rounded amounts, rounded once
    exact: dict[tuple[str, str], D] = defaultdict(D)
    for r in rated:
        exact[(r["tenant_id"], r["line_key"])] += r["amount"]
    for ln in result.lines:
        if ln.kind in ("usage", "shared"):
            assert ln.amount == round_money(exact[(ln.tenant_id, ln.description)], ln.currency)
    for key, total in exact.items():
        if abs(total) >= D("0.005"):
            assert any((ln.tenant_id, ln.description) == key for ln in result.lines)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_st, configs, st.lists(st.tuples(st.integers(1, 31), costs), max_size=5))
def test_tenant_isolation(spec, c, extra):
    """Rows of tenant b outside any pool never change tenant a's or c's invoice."""
    c = {**c, "allocate": "even"}
    more = [row(f"2026-10-{d:02d}", str(cost), SubAccountId="B", ServiceName="Amazon EC2")
            for d, cost in extra]
    base, _, _ = _run(spec, c)
    changed, _, _ = _run(spec, c, extra=more)
    for t in ("a", "c"):
        assert lines_of(changed, t) == lines_of(base, t)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_st, configs)
def test_determinism(spec, c):
    _, _, first = _run(spec, c)
    _, _, second = _run(spec, c)
    assert first == second
