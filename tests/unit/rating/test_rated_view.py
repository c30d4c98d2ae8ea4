"""``rated_costs`` (a view since round 2) returns the rows the materializing engine wrote.

The digests are of the outputs rebill wrote before ``rated_costs`` became a
view (commit c8fafb8), on the 100k-row lake and rich configs of ``richlake``:
every rated row and amount, every invoice line and invoice, to the last digit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from rebill.config import parse_config
from rebill.normalize.catalog import connect, refresh_catalog
from rebill.periods import Period
from rebill.rating import rate_period
from tests.unit.rating.richlake import FX, rich_config, write_rich_lake

EXPECTED = {
    "rich": (187386, "4287d1700652fb9aa82a8fb5f11248a9b30b7bcb4adf435eef0540508d97e8ce"),
    "rich-svc": (184387, "0a88c58361f2358c3a16a664d022f970e6f06be9972c16377768f5c749f317ec"),
}
# invoice_lines digests are those of c8fafb8. The invoices digests changed on purpose
# since: invoices.parquet gained closes_on/estimated_rows (#13) and a 64-hex lines_hash
# (one lines hash, #10); subtotals and line counts are unchanged.
EXPECTED_LINES = {
    "rich": ("113ca031baa1057d10e13aeb182a5c55828d88b1a11668ca9b8309f3c76345fd",
             "6a807c3f926e52eafe71ecc637de293026a8fe926faaad1374545122cd2b4f66"),
    "rich-svc": ("7c261b720862e76f965cb7c614d901c8ab9872c467e9fcc699a1af1602de53d4",
                 "0a2e39530263a329279de96cdf46d7c4372b98165b4f501388093182809105a7"),
}
VARIANTS = {"rich": {}, "rich-svc": {"group_by": ["service"], "provider_tax": "exclude"}}


def _digest(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, str]:
    rows = con.execute(sql).fetchall()
    h = hashlib.sha256()
    for r in rows:
        h.update(repr(r).encode())
    return len(rows), h.hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_view_and_lines_equal_the_materialized_outputs(tmp_path: Path, variant: str) -> None:
    (tmp_path / "fx.csv").write_text(FX)
    home = tmp_path / "home"
    write_rich_lake(home)
    cfg = parse_config(rich_config(home, **VARIANTS[variant]), "rich.toml", tmp_path)
    result = rate_period(cfg, Period.parse("2026-10"))
    con = connect(home)
    assert _digest(con, "SELECT * FROM rated_costs ORDER BY tenant_id, x_source, x_row_id") \
        == EXPECTED[variant]
    assert result.rated_rows == EXPECTED[variant][0]
    folder = result.directory
    lines, invoices = EXPECTED_LINES[variant]
    assert _digest(con, f"SELECT * FROM read_parquet('{folder}/invoice_lines.parquet') "
                        "ORDER BY tenant_id, line_no")[1] == lines
    assert _digest(con, f"SELECT * FROM read_parquet('{folder}/invoices.parquet') "
                        "ORDER BY tenant_id")[1] == invoices
    con.close()
    # the persistent catalog serves the same view (as analysts open it)
    assert refresh_catalog(home)
    ro = duckdb.connect(str(home / "rebill.duckdb"), read_only=True)
    ro.execute("SET file_search_path = ?", [str(home)])  # views name files relative to the home
    try:
        assert ro.execute("SELECT count(*), sum(amount) FROM rated_costs").fetchall()[0][0] \
            == EXPECTED[variant][0]
    finally:
        ro.close()
