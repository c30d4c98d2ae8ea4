"""aws_cur wired to moto's S3: one month in two Parquet files plus one gzip CSV."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from unittest import mock

import boto3
from moto import mock_aws

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.periods import Period
from tests.contract.case import ContractCase
from tests.unit.connectors.aws import cur_fixtures as fx

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_DEFAULT_REGION": "us-east-1"}


@contextmanager
def case(tmp_path: Path) -> Iterator[ContractCase]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"} | ENV
    with mock.patch.dict(os.environ, env, clear=True), mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="acme-cur")
        rows = fx.month_rows()
        fx.put_export(s3, "acme-cur", "cur", "rebill", "2026-10", [
            ("rebill-00001.snappy.parquet", fx.parquet_bytes(rows[:10])),
            ("rebill-00002.snappy.parquet", fx.parquet_bytes(rows[10:18])),
            ("rebill-00003.csv.gz", fx.csv_gz_bytes(rows[18:])),
        ], "exec-1")
        ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 3))
        conn = build("aws", {"type": "aws_cur", "bucket": "acme-cur", "prefix": "cur",
                             "export_name": "rebill"}, ctx)
        yield ContractCase(conn, Period(date(2026, 10, 1)), min_rows=len(rows))
