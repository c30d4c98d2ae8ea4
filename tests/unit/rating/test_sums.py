"""Rating's sums (never a materialized rated row) equal the ``rated_costs`` rows summed.

The engine prices direct rows as they stream and sums pool shares by class
(rating/scan.py, rating/sums.py), in 64-bit values when the period allows and
128-bit ones otherwise; the view computes every rated row. Each invoice line
must be the rounded exact sum of its view rows, in both modes.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from rebill.money import round_money
from rebill.rating import scan
from tests.unit.rating.lakebuild import rate, rated_costs, row, tenant

FX = "date,base,quote,rate\n2026-10-01,USD,EUR,0.9137\n2026-10-02,USD,EUR,1234.567891\n"


def _case(huge: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    big = "98765432.123456789012" if huge else "987.123456789012"  # > 2^62 units when huge
    rows = [
        row("2026-10-01", big, SubAccountId="A", ServiceName="Support"),
        row("2026-10-02", "-" + big, SubAccountId="B", ServiceName="Support"),
        row("2026-10-01", "0.000000000007", ServiceName="Support"),
        # equal costs in one class are split once and counted (remainders included)
        *(row("2026-10-02", "3.333333333333", ServiceName="Support") for _ in range(3)),
        *(row("2026-10-01", "0.000000000007", ServiceName="Support") for _ in range(2)),
        *(row(f"2026-10-0{d}", c, SubAccountId=a)
          for d in (1, 2) for a, c in (("A", "10.10"), ("B", "7.000000000001"), ("C", big))),
    ]
    cfg = {
        "fx": {"path": "fx.csv"},
        "tenants": [tenant("a", {"account": "A"}, markup="33.333%"),
                    tenant("b", {"account": "B"}, markup="-5%", currency="EUR"),
                    tenant("c", {"account": "C"})],
        "shared": [{"name": "Support", "match": [{"service": "Support"}],
                    "allocate": "proportional"}],
        "pricing": [{"service": "Support", "tenant": "c", "markup": "12.5%"}],
    }
    return rows, cfg


@pytest.mark.parametrize("huge", [False, True], ids=["64-bit", "128-bit"])
def test_lines_are_the_rounded_sums_of_the_view(tmp_path: Path, huge: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fx.csv").write_text(FX)
    seen: list[str] = []
    real = scan.mul_round_select

    def spy(relation: str, u: str, f: str, out: str, as_type: str = "HUGEINT") -> str:
        seen.append(as_type)
        return real(relation, u, f, out, as_type)

    monkeypatch.setattr(scan, "mul_round_select", spy)
    rows, cfg = _case(huge)
    result = rate(tmp_path, rows, cfg)
    assert set(seen) == {"HUGEINT" if huge else "BIGINT"}
    sums: dict[tuple[str, str], D] = defaultdict(D)
    for r in rated_costs(result):
        sums[(r["tenant_id"], r["line_key"])] += r["amount"]
    got = {(ln.tenant_id, ln.description): ln.amount for ln in result.lines
           if ln.kind in ("usage", "shared")}
    want = {k: round_money(v, "EUR" if k[0] == "b" else "USD") for k, v in sums.items()}
    assert got == {k: v for k, v in want.items() if v != 0}
    assert {d for _, d in got} == {"AWS Amazon EC2", "Shared: Support"}


def test_a_failed_share_query_leaves_no_pool_scan_on_the_callers_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from rebill import duck
    from rebill.rating import sums

    (tmp_path / "fx.csv").write_text(FX)
    rows, cfg = _case(False)
    real = sums._shared_sql

    def broken(*args: Any) -> tuple[str, str, str]:
        shared, stream, _ = real(*args)
        return shared, stream, "SELECT no_such_column"

    monkeypatch.setattr(sums, "_shared_sql", broken)
    con = duck.connect()
    with pytest.raises(duckdb.Error, match="no_such_column"):
        rate(tmp_path, rows, cfg, con=con)
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?",
                       [sums._POOL_SCAN]).fetchall() == [(0,)]
    with pytest.raises(duckdb.CatalogException):
        con.execute(f"SELECT * FROM {sums._POOL_ARROW}")
