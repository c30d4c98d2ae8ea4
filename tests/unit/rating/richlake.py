"""A deterministic 100k-row, two-source, two-currency lake and a rich config.

Used to pin ``rated_costs`` and ``invoice_lines`` to the figures the
materializing engine produced (before ``rated_costs`` became a view):
tenants with start/end dates and account/region/resource/tag matches, a
``weights``, an ``even`` and a ``proportional`` pool, pricing rules scoped by
sku/region/tenant, EUR tenants, credits and tax rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from rebill.layout import partition_file
from rebill.schema import ARROW_SCHEMA

ROWS = 100_000

_SQL = """
SELECT
  CAST(CASE WHEN i % 53 = 0 THEN -((i % 977) * 0.0003137) ELSE (i % 9973) * 0.0001234567 + 0.000001
       END AS DECIMAL(38,12)) AS BilledCost,
  CAST((i % 9973) * 0.0001134567 AS DECIMAL(38,12)) AS EffectiveCost,
  CAST((i % 9973) * 0.0001334567 AS DECIMAL(38,12)) AS ListCost,
  CAST((i % 9973) * 0.0001334567 AS DECIMAL(38,12)) AS ContractedCost,
  'payer' || (i % 3) AS BillingAccountId, 'Payer' AS BillingAccountName,
  CASE WHEN i % 7 = 0 THEN 'EUR' ELSE 'USD' END AS BillingCurrency,
  TIMESTAMPTZ '2026-10-01 00:00:00+00' AS BillingPeriodStart,
  TIMESTAMPTZ '2026-11-01 00:00:00+00' AS BillingPeriodEnd,
  CASE WHEN i % 53 = 0 THEN 'Credit' WHEN i % 61 = 0 THEN 'Tax' ELSE 'Usage' END AS ChargeCategory,
  NULL::VARCHAR AS ChargeClass, 'usage of ' || (i % 50) AS ChargeDescription,
  'Usage-Based' AS ChargeFrequency,
  TIMESTAMPTZ '2026-10-01 00:00:00+00' + to_hours(CAST(i % 744 AS INTEGER)) AS ChargePeriodStart,
  TIMESTAMPTZ '2026-10-01 01:00:00+00' + to_hours(CAST(i % 744 AS INTEGER)) AS ChargePeriodEnd,
  'AWS' AS InvoiceIssuerName,
  CAST(i % 13 + 1 AS DECIMAL(38,12)) AS PricingQuantity,
  CASE WHEN i % 11 = 0 THEN 'GB' ELSE 'Hours' END AS PricingUnit,
  CASE WHEN i % 5 = 0 THEN 'GCP' ELSE 'AWS' END AS ProviderName, 'P' AS PublisherName,
  'Compute' AS ServiceCategory, 'Service ' || (i % 17) AS ServiceName,
  'acct' || (i % 23) AS SubAccountId, 'us-east-' || (i % 4) AS RegionId,
  'Region ' || (i % 4) AS RegionName,
  'res/' || (i % 19) || '/' || i AS ResourceId, 'SKU' || (i % 31) AS SkuId,
  map(['team', 'env'], ['team' || (i % 29), CASE WHEN i % 2 = 0 THEN 'prod' ELSE 'dev' END])
    AS Tags,
  '{source}' AS x_source, lpad(CAST(i AS VARCHAR), 9, '0') AS x_row_id, 'load' AS x_load_id
FROM range({start}, {stop}) t(i)
"""


def write_rich_lake(home: Path) -> None:
    """Two sources of 50k rows each in 2026-10."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    half = ROWS // 2
    for n, source in enumerate(("src-a", "src-b")):
        sql = _SQL.format(source=source, start=n * half, stop=(n + 1) * half)
        cols = ", ".join(
            f'"{f.name}"' if f.name in _columns(con, sql) else f'NULL AS "{f.name}"'
            for f in ARROW_SCHEMA
        )
        table = con.sql(f"SELECT {cols} FROM ({sql})").to_arrow_table().cast(ARROW_SCHEMA)
        path = partition_file(home, source, "2026-10")
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
    con.close()


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    return {d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description}


FX = "date,base,quote,rate\n" + "".join(
    f"2026-10-{d:02d},USD,EUR,0.9{d:02d}7\n2026-10-{d:02d},EUR,USD,1.0{d:02d}3\n"
    for d in range(1, 32) if d % 3
)


def rich_config(home: Path, group_by: list[str] | None = None,
                provider_tax: str = "passthrough") -> dict[str, Any]:
    tenants: list[dict[str, Any]] = []
    for i in range(25):
        t: dict[str, Any] = {"id": f"t{i:02d}", "markup": f"{(i % 6) * 3.5}%",
                             "match": [{"tag": f"team=team{i}"}]}
        if i % 4 == 1:
            t["start"] = f"2026-10-{(i % 28) + 1:02d}"
        if i % 9 == 2:
            t["end"] = "2026-10-20"
        if i % 5 == 3:
            t["currency"] = "EUR"
        if i % 6 == 0:
            t["match"].append({"account": f"acct{i % 23}", "region": "us-east-1"})
        if i % 7 == 4:
            t["match"].append({"resource": f"res/{i % 19}/*", "provider": "GCP"})
        tenants.append(t)
    return {
        "rebill": {"home": str(home), "provider_tax": provider_tax,
                   "group_by": group_by or ["provider", "service", "account", "sku"]},
        "fx": {"path": "fx.csv"},
        "tenants": tenants,
        "shared": [
            {"name": "Support", "match": [{"service": "Service 3"}], "allocate": "weights",
             "weights": {"t01": "1.5", "t02": "1", "t05": "3", "t13": "0.25"}},
            {"name": "Network", "match": [{"service": "Service 7", "region": "us-east-2"}],
             "allocate": "even", "tenants": ["t03", "t04", "t09", "t10", "t17"]},
            {"name": "Platform", "match": [{"service": "Service 7"}, {"tag": "env=none"}],
             "allocate": "proportional"},
        ],
        "pricing": [
            {"service": "Service 5", "markup": "7.5%"},
            {"service": "Service 5", "sku": "SKU3", "markup": "-2%"},
            {"tenant": "t06", "region": "us-east-3", "markup": "11.11%"},
            {"tenant": "t07", "markup": "1%"},
            {"charge_category": "Credit", "markup": "0%"},
        ],
    }
