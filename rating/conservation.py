"""Conservation, checked on every run (DESIGN "Rating semantics").

Per billing currency, the cost of tenant-attributed + pool + unallocated +
excluded-tax rows equals the lake's total for the period, and every lake row
is counted exactly once. The check reads the files actually written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from rebill.errors import RatingError
from rebill.sql import literal


@dataclass(frozen=True)
class Conservation:
    currency: str
    lake: Decimal
    attributed: Decimal  # direct tenant rows
    pooled: Decimal  # allocated pool rows (= the sum of their shares)
    unallocated: Decimal
    excluded_tax: Decimal
    lake_rows: int
    counted_rows: int

    @property
    def accounted(self) -> Decimal:
        return self.attributed + self.pooled + self.unallocated + self.excluded_tax

    @property
    def ok(self) -> bool:
        return self.accounted == self.lake and self.counted_rows == self.lake_rows


def measure(
    con: duckdb.DuckDBPyConnection, lake_sql: str, *, cost_column: str, tax_excluded: bool,
    rated_costs: Path, unallocated: Path,
) -> list[Conservation]:
    """Totals per currency from the lake query and the written rated/unallocated files."""
    tax = "\"ChargeCategory\" = 'Tax'" if tax_excluded else "false"
    rows = con.execute(f"""
WITH lake AS (
  SELECT "BillingCurrency" AS currency, sum("{cost_column}") AS total, count(*) AS n,
         sum(CASE WHEN {tax} THEN "{cost_column}" ELSE 0 END) AS tax,
         count(*) FILTER (WHERE {tax}) AS tax_n
  FROM ({lake_sql}) GROUP BY 1
), rated AS (
  SELECT currency,
         sum(cost) FILTER (WHERE kind = 'usage') AS direct,
         count(*) FILTER (WHERE kind = 'usage') AS direct_n,
         sum(cost) FILTER (WHERE kind = 'shared') AS pooled,
         count(DISTINCT (x_source, x_row_id)) FILTER (WHERE kind = 'shared') AS pooled_n
  FROM read_parquet({literal(str(rated_costs))}) GROUP BY 1
), unalloc AS (
  SELECT currency, sum(cost) AS total, count(*) AS n
  FROM read_parquet({literal(str(unallocated))}) GROUP BY 1
), cur AS (
  SELECT currency FROM lake UNION SELECT currency FROM rated UNION SELECT currency FROM unalloc
)
SELECT cur.currency, coalesce(lake.total, 0), coalesce(rated.direct, 0),
       coalesce(rated.pooled, 0), coalesce(unalloc.total, 0), coalesce(lake.tax, 0),
       coalesce(lake.n, 0),
       coalesce(rated.direct_n, 0) + coalesce(rated.pooled_n, 0) + coalesce(unalloc.n, 0)
         + coalesce(lake.tax_n, 0)
FROM cur LEFT JOIN lake USING (currency) LEFT JOIN rated USING (currency)
LEFT JOIN unalloc USING (currency) ORDER BY cur.currency""").fetchall()
    return [
        Conservation(str(c), Decimal(lk), Decimal(a), Decimal(p), Decimal(u), Decimal(t),
                     int(n), int(m))
        for c, lk, a, p, u, t, n, m in rows
    ]


def check(results: list[Conservation], period_label: str) -> None:
    """Raise RatingError on the first currency that does not balance."""
    for c in results:
        if not c.ok:
            raise RatingError(
                f"conservation violated for {period_label} in {c.currency}: lake {c.lake} "
                f"({c.lake_rows} rows) but attributed {c.attributed} + pool {c.pooled} + "
                f"unallocated {c.unallocated} + excluded tax {c.excluded_tax} = {c.accounted} "
                f"({c.counted_rows} rows)"
            )
