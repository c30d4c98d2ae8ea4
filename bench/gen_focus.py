"""Generate a CUR-like FOCUS month as Parquet files (deterministic) for benchmarks.

    .venv/bin/python bench/gen_focus.py --rows 10000000 --files 10 --out bench/out/focus
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

SQL = """
COPY (
  SELECT
    CAST(round((i % 9973) * 0.0001234567 + 0.000001, 10) AS DECIMAL(38,12)) AS BilledCost,
    CAST(round((i % 9973) * 0.0001134567, 10) AS DECIMAL(38,12)) AS EffectiveCost,
    CAST(round((i % 9973) * 0.0001334567, 10) AS DECIMAL(38,12)) AS ListCost,
    CAST(round((i % 9973) * 0.0001334567, 10) AS DECIMAL(38,12)) AS ContractedCost,
    '123456789012' AS BillingAccountId, 'Payer' AS BillingAccountName,
    'USD' AS BillingCurrency,
    TIMESTAMPTZ '2026-10-01 00:00:00+00' AS BillingPeriodStart,
    TIMESTAMPTZ '2026-11-01 00:00:00+00' AS BillingPeriodEnd,
    CASE WHEN i % 97 = 0 THEN 'Credit' ELSE 'Usage' END AS ChargeCategory,
    NULL::VARCHAR AS ChargeClass,
    'usage of ' || (i % 500) AS ChargeDescription,
    CASE WHEN i % 97 = 0 THEN 'One-Time' ELSE 'Usage-Based' END AS ChargeFrequency,
    TIMESTAMPTZ '2026-10-01 00:00:00+00' + to_hours(CAST(i % 744 AS INTEGER)) AS ChargePeriodStart,
    TIMESTAMPTZ '2026-10-01 01:00:00+00' + to_hours(CAST(i % 744 AS INTEGER)) AS ChargePeriodEnd,
    'Amazon Web Services, Inc.' AS InvoiceIssuerName,
    CAST(i % 13 + 1 AS DECIMAL(38,12)) AS PricingQuantity, 'Hours' AS PricingUnit,
    'AWS' AS ProviderName, 'Amazon Web Services, Inc.' AS PublisherName,
    'Compute' AS ServiceCategory,
    'Amazon Service ' || (i % 40) AS ServiceName,
    lpad(CAST(i % 50 AS VARCHAR), 12, '1') AS SubAccountId,
    'us-east-' || (i % 4) AS RegionId,
    'arn:aws:ec2:us-east-1:1:instance/i-' || (i % 100000) AS ResourceId,
    'SKU' || (i % 2000) AS SkuId,
    map(['team', 'env'], ['team' || (i % {teams}), CASE WHEN i % 2 = 0 THEN 'prod' ELSE 'dev' END]) AS Tags
  FROM range({start}, {stop}) t(i)
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("bench/out/focus"))
    ap.add_argument("--teams", type=int, default=30, help="distinct team tags (tenants)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    per = args.rows // args.files
    for f in range(args.files):
        path = args.out / f"part-{f:03d}.parquet"
        con.execute(SQL.format(start=f * per, stop=(f + 1) * per, path=path, teams=args.teams))
    print(f"wrote {per * args.files} rows in {args.files} files to {args.out}")


if __name__ == "__main__":
    main()
