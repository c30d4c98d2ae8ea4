"""Tenant lookup runs: a hash lookup per run of equality-matched tenants, same answers as
a ``WHEN`` per tenant (first match in file order, inactive tenants do not stop the search)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rebill.config import parse_config
from rebill.duck import connect
from rebill.periods import Period
from rebill.rating import attribute
from rebill.rating.attribute import rows_sql, source_sql
from rebill.rating.match import Run, tenant_runs
from tests.unit.rating.lakebuild import row, tenant, write_lake


def _tenants() -> list[dict[str, Any]]:
    teams = [tenant(f"team{i}", {"tag": f"team=t{i}"}) for i in range(6)]
    teams[2]["start"] = "2026-10-10"  # inactive before: the search goes on
    teams[3]["match"] = [{"tag": "team=t3"}, {"tag": "team=t3b"}]
    return [
        *teams,
        tenant("again", {"tag": "team=t2"}),  # t2 again: a new run (or a WHEN) after the first
        tenant("acct", {"account": "A"}),
        tenant("mixed", {"account": "B", "service": "S3"}),  # two keys: never a lookup
        *(tenant(f"acct{i}", {"account": f"A{i}"}) for i in range(5)),
        tenant("env", {"tag": "env=prod"}),
    ]


def test_runs_split_on_key_change_repeated_value_and_complex_entries(tmp_path: Path) -> None:
    cfg = parse_config({"rebill": {"home": str(tmp_path)}, "tenants": _tenants()}, "t.toml",
                       tmp_path)
    parts = tenant_runs(cfg.tenants)
    assert parts[0] == Run("tag:team", {"t0": 0, "t1": 1, "t2": 2, "t3": 3, "t3b": 3,
                                        "t4": 4, "t5": 5})
    # "again" (t2 repeated) and "acct" are short runs: plain WHENs, in order
    assert parts[1:4] == [6, 7, 8]
    assert parts[4] == Run("account", {f"A{i}": 9 + i for i in range(5)})
    assert parts[5:] == [14]


@pytest.mark.parametrize("day", ["2026-10-03", "2026-10-12"])
def test_lookup_attribution_equals_the_when_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  day: str) -> None:
    cfg = parse_config({"rebill": {"home": str(tmp_path / "home")}, "tenants": _tenants()},
                       "t.toml", tmp_path)
    rows = [row(day, "1.00", Tags={"team": f"t{i}"}, SubAccountId=acct)
            for i in (*range(6), "3b", 9) for acct in ("A", "B", "A3", None)]
    rows += [row(day, "1.00", Tags={"env": "prod"}), row(day, "1.00", SubAccountId="B",
                                                         ServiceName="S3")]
    write_lake(cfg.home, rows)
    src = source_sql(cfg.home, Period.parse("2026-10"))
    con = connect()
    query = "SELECT x_row_id, tenant_idx, any_tenant_match, target FROM ({}) ORDER BY x_row_id"
    fast = con.execute(query.format(rows_sql(cfg, src))).fetchall()
    assert "LEFT JOIN" in rows_sql(cfg, src)
    monkeypatch.setattr(attribute, "tenant_runs", lambda ts: list(range(len(ts))))
    assert "LEFT JOIN" not in rows_sql(cfg, src)
    slow = con.execute(query.format(rows_sql(cfg, src))).fetchall()
    assert fast == slow
    taken = {t for _, t, _, _ in fast}
    active = day >= "2026-10-10"  # team2 starts then; before, its rows go on to "again"
    assert {0, 7, 8, 14} <= taken and (2 in taken) == active and (6 in taken) != active
