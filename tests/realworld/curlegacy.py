"""Legacy CUR deliveries built from the public legacy CUR sample, as AWS lays them out.

Source rows: ``data/samples/aws-cur-legacy/aws_cur_legacy_sample.csv`` (1,281
rows, MIT, from finopsfoundation/focus_converters). The variants (GZIP, ZIP,
Parquet with Athena-style names, empty prefix, several assemblies) follow
https://docs.aws.amazon.com/cur/latest/userguide/understanding-report-versions.html
and the ReportDefinition reference (Compression: ZIP | GZIP | Parquet).
Tag columns are added here (the sample has none), deterministically.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import REPO

SAMPLE = REPO / "data" / "samples" / "aws-cur-legacy" / "aws_cur_legacy_sample.csv"
SPAN = "20231101-20231201"
TAGS = ("resourceTags/user:tenant", "resourceTags/user:Cost Center", "resourceTags/aws:createdBy")


def rows(drop: tuple[str, ...] = ()) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of the sample with three tag columns added."""
    with SAMPLE.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = [c for c in (reader.fieldnames or []) if c not in drop]
        out = []
        for i, rec in enumerate(reader):
            for c in drop:
                rec.pop(c)
            rec[TAGS[0]] = ("acme", "globex", "")[i % 3]
            rec[TAGS[1]] = "CC-7" if i % 5 == 0 else ""
            rec[TAGS[2]] = "arn:aws:iam::1:user/ci" if i % 7 == 0 else ""
            out.append(rec)
    return header + list(TAGS), out


def csv_text(header: list[str], data: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(data)
    return buf.getvalue().encode()


def gz(body: bytes) -> bytes:
    return gzip.compress(body, mtime=0)


def zipped(body: bytes, name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, body)
    return buf.getvalue()


def athena_name(column: str) -> str:
    """Legacy CUR Parquet naming: ``lineItem/UnblendedCost`` -> ``line_item_unblended_cost``."""
    category, _, name = column.partition("/")
    if category == "resourceTags":  # a tag key: words split, other characters one "_"
        key = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
        return "resource_tags_" + re.sub(r"[^a-z0-9]+", "_", key)
    parts = [re.sub(r"(?<!^)([A-Z])", r"_\1", p).lower() for p in (category, name)]
    return re.sub(r"[^a-z0-9_]", "_", "_".join(parts))


MONEY = ("lineItem/UnblendedCost", "lineItem/BlendedCost", "lineItem/UsageAmount",
         "pricing/publicOnDemandCost")
TIMES = ("lineItem/UsageStartDate", "lineItem/UsageEndDate", "bill/BillingPeriodStartDate",
         "bill/BillingPeriodEndDate")


def parquet(header: list[str], data: list[dict[str, str]]) -> bytes:
    """Athena-style legacy Parquet: snake_case names, money as double, times as timestamps."""
    arrays = {}
    for col in header:
        values = [r[col] for r in data]
        if col in MONEY:
            arrays[athena_name(col)] = pa.array([float(v) if v else None for v in values])
        elif col in TIMES:
            arrays[athena_name(col)] = pa.array(
                [datetime.fromisoformat(v.replace("Z", "")) if v else None for v in values],
                pa.timestamp("ms"))
        else:
            arrays[athena_name(col)] = pa.array([v or None for v in values], pa.string())
    buf = io.BytesIO()
    pq.write_table(pa.table(arrays), buf, row_group_size=500)
    return buf.getvalue()


def put(store: Any, key: str, body: bytes) -> None:
    """``store`` is a boto3 S3 client (bucket acme-cur) or a local folder."""
    if isinstance(store, Path):
        path = store / key.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    else:
        store.put_object(Bucket="acme-cur", Key=key, Body=body)


def deliver(store: Any, root: str, files: list[tuple[str, bytes]], assembly: str,
            compression: str, *, top_manifest: bool = True) -> list[str]:
    """Data files under ``<root>/<span>/<assembly>/``, then the manifest(s) listing them."""
    keys = []
    for name, body in files:
        key = f"{root}/{SPAN}/{assembly}/{name}"
        put(store, key, body)
        keys.append(key)
    manifest = json.dumps({
        "assemblyId": assembly, "compression": compression, "reportKeys": keys,
        "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        "bucket": "acme-cur", "reportName": "rebill", "charset": "UTF-8",
        "contentType": "text/csv" if compression != "Parquet" else "Parquet",
    }).encode()
    put(store, f"{root}/{SPAN}/{assembly}/rebill-Manifest.json", manifest)
    if top_manifest:
        put(store, f"{root}/{SPAN}/rebill-Manifest.json", manifest)
    return keys


def expected(data: list[dict[str, str]]) -> dict[tuple[str, str], Decimal]:
    """Σ lineItem/UnblendedCost per (usage account, UTC day of usage start), by Decimal."""
    out: dict[tuple[str, str], Decimal] = {}
    for r in data:
        key = (r["lineItem/UsageAccountId"], r["lineItem/UsageStartDate"][:10])
        out[key] = out.get(key, Decimal(0)) + Decimal(r["lineItem/UnblendedCost"])
    return out


def expected_tags(r: dict[str, str]) -> dict[str, str] | None:
    """Tags as DESIGN says: ``user:`` dropped, ``aws:`` kept; empty values absent."""
    tags = {}
    for col in TAGS:
        if r[col]:
            key = col.removeprefix("resourceTags/")
            tags[key.removeprefix("user:")] = r[col]
    return tags or None
