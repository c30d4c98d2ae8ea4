"""Generate a legacy AWS CUR month (one GZIP CSV and its manifest), deterministically.

    .venv/bin/python bench/gen_cur.py --rows 1000000 --teams 200 --out bench/out/cur-1M

The rows are the public legacy CUR sample's usage rows
(``data/samples/aws-cur-legacy``, 96 columns, November 2023), repeated with
their ids, usage hours, usage accounts, resource ids and costs varied, plus a
``lineItem/ResourceId`` and a ``resourceTags/user:team`` column (``team0`` ..
``team<teams-1>``). The layout is what AWS writes to the report's bucket,
as a local copy (the ``aws_cur`` source's ``path=`` mode):
``cur/rebill/20231101-20231201/<assembly>/rebill-00001.csv.gz`` and the
manifest ``cur/rebill/20231101-20231201/rebill-Manifest.json`` listing it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "aws-cur-legacy" / "aws_cur_legacy_sample.csv"
PREFIX, EXPORT, SPAN, ASSEMBLY = "cur", "rebill", "20231101-20231201", "bench-0001"

# columns varied per row (the others are the sample row's own values)
VARIED = {
    "identity/LineItemId": "'bench' || lpad(CAST(i AS VARCHAR), 12, '0')",
    "identity/TimeInterval": "strftime(t0, '%Y-%m-%dT%H:%M:%SZ') || '/' || "
                             "strftime(t0 + INTERVAL 1 HOUR, '%Y-%m-%dT%H:%M:%SZ')",
    "lineItem/UsageAccountId": "lpad(CAST(i % 50 AS VARCHAR), 12, '1')",
    "lineItem/UsageStartDate": "strftime(t0, '%Y-%m-%dT%H:%M:%S.000Z')",
    "lineItem/UsageEndDate": "strftime(t0 + INTERVAL 1 HOUR, '%Y-%m-%dT%H:%M:%S.000Z')",
    "lineItem/UnblendedCost": "CAST(CAST((i % 9973) * 0.0001234567 + 0.000001 "
                              "AS DECIMAL(18,10)) AS VARCHAR)",
    "lineItem/BlendedCost": "CAST(CAST((i % 9973) * 0.0001234567 + 0.000001 "
                            "AS DECIMAL(18,10)) AS VARCHAR)",
    "pricing/publicOnDemandCost": "CAST(CAST((i % 9973) * 0.0001334567 "
                                  "AS DECIMAL(18,10)) AS VARCHAR)",
    "lineItem/UsageAmount": "CAST(i % 13 + 1 AS VARCHAR) || '.0'",
}


def generate(rows: int, teams: int, out: Path) -> Path:
    """Write the month under ``out``; returns the data file."""
    folder = out / PREFIX / EXPORT / SPAN
    data = folder / ASSEMBLY / f"{EXPORT}-00001.csv.gz"
    data.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET threads=1")  # one deterministic file
    con.execute(f"""CREATE TABLE sample AS SELECT row_number() OVER () - 1 AS k, * FROM
        read_csv('{SAMPLE}', all_varchar=true, header=true)
        WHERE "lineItem/LineItemType" = 'Usage'""")
    columns = [r[0] for r in con.execute("DESCRIBE sample").fetchall() if r[0] != "k"]
    n = con.execute("SELECT count(*) FROM sample").fetchall()[0][0]
    exprs = [f'{VARIED.get(c, f"s.{_q(c)}")} AS {_q(c)}' for c in columns]
    exprs += ["'arn:aws:ec2:us-east-1:' || lpad(CAST(i % 50 AS VARCHAR), 12, '1') || "
              "':instance/i-' || lpad(CAST(i % 100000 AS VARCHAR), 8, '0') "
              'AS "lineItem/ResourceId"',
              f"'team' || CAST(i % {teams} AS VARCHAR) AS \"resourceTags/user:team\""]
    con.execute(f"""COPY (
        SELECT {', '.join(exprs)}
        FROM (SELECT i, TIMESTAMPTZ '2023-11-01 00:00:00+00' + to_hours(CAST(i % 720 AS INTEGER))
              AS t0 FROM range({rows}) r(i)) g
        JOIN sample s ON s.k = g.i % {n}
        ORDER BY i
    ) TO '{data}' (FORMAT csv, HEADER true, COMPRESSION gzip)""")
    key = f"{PREFIX}/{EXPORT}/{SPAN}/{ASSEMBLY}/{data.name}"
    manifest = {
        "assemblyId": ASSEMBLY, "compression": "GZIP", "reportKeys": [key],
        "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        "bucket": "bench-cur", "reportName": EXPORT, "charset": "UTF-8",
        "contentType": "text/csv",
    }
    (folder / f"{EXPORT}-Manifest.json").write_text(json.dumps(manifest, indent=2))
    return data


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--teams", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("bench/out/cur"))
    args = ap.parse_args()
    path = generate(args.rows, args.teams, args.out)
    print(f"wrote {args.rows} rows to {path}")


if __name__ == "__main__":
    main()
