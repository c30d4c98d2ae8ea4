"""``rated_daily`` (rating.daily) is exactly the per-day sums of ``rated_costs``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from rebill.config import parse_config
from rebill.datasets import RATED_DAILY, RATED_DAILY_FILE
from rebill.normalize.catalog import connect
from rebill.periods import Period
from rebill.rating import rate_period
from tests.unit.rating.lakebuild import rate, row, tenant
from tests.unit.rating.richlake import FX, rich_config, write_rich_lake

KEYS = "tenant_id, period, day, kind, pool, provider, service, currency"
ORDER = ", ".join(f"{k} NULLS FIRST" for k in
                  ("tenant_id", "day", "kind", "pool", "provider", "service", "currency"))
FROM_ROWS = f"""SELECT {KEYS}, sum(cost) AS cost, sum(rated) AS rated, sum(amount) AS amount,
  any_value(tenant_currency) AS tenant_currency, count(*) AS rows
FROM rated_costs GROUP BY {KEYS} ORDER BY {ORDER}"""


def _same_as_rated_costs(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    stored = pq.read_table(folder / RATED_DAILY_FILE)
    assert stored.schema.equals(RATED_DAILY, check_metadata=False)
    expected = con.execute(FROM_ROWS).fetchall()
    assert con.execute(f"SELECT * FROM rated_daily ORDER BY {ORDER}").fetchall() == expected
    # the file itself is written in that order (deterministic bytes)
    assert [tuple(r.values()) for r in stored.to_pylist()] == expected
    return len(expected)


def test_rated_daily_sums_a_pool_and_direct_rows(tmp_path: Path) -> None:
    rows = [row("2026-10-01", "10.00", SubAccountId="a"),
            row("2026-10-01", "2.50", SubAccountId="a", ServiceName="Amazon S3"),
            row("2026-10-01", "5.00", SubAccountId="b"),
            row("2026-10-02", "7.00", SubAccountId="b"),
            row("2026-10-01", "3.00", SubAccountId="shared"),
            row("2026-10-02", "-1.00", SubAccountId="shared", ChargeCategory="Credit")]
    result = rate(tmp_path, rows, {
        "tenants": [tenant("acme", {"account": "a"}, markup="10%"),
                    tenant("globex", {"account": "b"})],
        "shared": [{"name": "platform", "match": [{"account": "shared"}]}]})
    con = connect(result.directory.parent.parent)
    try:
        assert _same_as_rated_costs(con, result.directory) == 8  # 4 direct, 2 days x 2 shares
        # one (tenant, day, service) of direct rows carries their count and exact sums
        got = con.execute("SELECT rows, cost, rated FROM rated_daily WHERE tenant_id = 'acme' "
                          "AND kind = 'usage' AND service = 'Amazon EC2'").fetchall()
        assert [(n, str(c), str(r)) for n, c, r in got] == [
            (1, "10.000000000000", "11.000000000000")]
    finally:
        con.close()


def test_an_empty_period_writes_an_empty_file(tmp_path: Path) -> None:
    result = rate(tmp_path, [row("2026-10-01", "1.00", SubAccountId="nobody")],
                  {"tenants": [tenant("acme", {"account": "a"})]})
    assert pq.read_table(result.directory / RATED_DAILY_FILE).num_rows == 0


def test_a_period_rated_before_rated_daily_is_summed_from_rated_costs(tmp_path: Path) -> None:
    result = rate(tmp_path, [row("2026-10-01", "4.00", SubAccountId="a"),
                             row("2026-10-03", "6.00", SubAccountId="a")],
                  {"tenants": [tenant("acme", {"account": "a"})]})
    home = result.directory.parent.parent
    con = connect(home)
    before = con.execute(f"SELECT * FROM rated_daily ORDER BY {ORDER}").fetchall()
    con.close()
    (result.directory / RATED_DAILY_FILE).unlink()  # as an older rebill left the folder
    con = connect(home)
    try:
        assert con.execute(f"SELECT * FROM rated_daily ORDER BY {ORDER}").fetchall() == before
        assert len(before) == 2
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("variant", [{}, {"group_by": ["service"], "provider_tax": "exclude"}])
def test_rated_daily_equals_rated_costs_sums_on_the_rich_lake(
        tmp_path: Path, variant: dict[str, Any]) -> None:
    """100k rows, pools, credits, FX, several currencies, tax (richlake)."""
    (tmp_path / "fx.csv").write_text(FX)
    home = tmp_path / "home"
    write_rich_lake(home)
    cfg = parse_config(rich_config(home, **variant), "rich.toml", tmp_path)
    result = rate_period(cfg, Period.parse("2026-10"))
    con = connect(home)
    try:
        assert _same_as_rated_costs(con, result.directory) > 1000
    finally:
        con.close()
