"""The ``aws_cur`` source: CUR 2.0 (Data Exports) or legacy CUR files in S3.

For each billing period the connector reads the manifest AWS writes after the
data files, and exactly the files it lists:

* CUR 2.0: ``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``
  (``dataFiles``: ``s3://`` URIs of Parquet or gzip CSV files);
* legacy: ``<prefix>/<export>/YYYYMMDD-YYYYMMDD/<export>-Manifest.json``
  (``reportKeys``: object keys).

The fingerprint is the manifest (its ETag and a hash of its bytes, which
name the delivery's execution/assembly id and files): a re-delivered or
restated month changes it, an unchanged one is not re-read. AWS re-delivers
the current month up to three times a day and restates the previous one for
about two weeks after it ends; the nightly flow asks for both until then.

Each file is downloaded to ``<home>/tmp`` and scanned by DuckDB in batches,
so memory stays bounded by the batch size, not the month.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import model_validator

from rebill import duck
from rebill.connectors.aws.client import make_client, translate, verdict
from rebill.connectors.aws.cur_mapping import mapping_sql, source_select
from rebill.connectors.base import ConnectorSpec, Context, Extract, SourceBatch, SourceConfig
from rebill.errors import DataContractError, FatalConnectorError
from rebill.layout import tmp_dir
from rebill.periods import Period
from rebill.retry import Retry, call
from rebill.sql import literal

T = TypeVar("T")

log = logging.getLogger("rebill.aws_cur")
BATCH_ROWS = 100_000
MEMORY_LIMIT = "1GB"


class AwsCurSource(SourceConfig):
    type: Literal["aws_cur"] = "aws_cur"
    bucket: str | None = None
    # Instead of a bucket: a local folder holding a copy of it (``aws s3 sync``);
    # relative to the config file. Used by ``rebill demo`` and offline audits.
    path: str | None = None
    prefix: str = ""
    export_name: str
    region: str | None = None
    layout: Literal["cur2", "legacy"] = "cur2"

    @model_validator(mode="after")
    def _one_place(self) -> AwsCurSource:
        if (self.bucket is None) == (self.path is None):
            raise ValueError("give exactly one of bucket (S3) or path (a local copy)")
        if self.bucket is not None and len(self.bucket) < 3:
            raise ValueError(f"bucket {self.bucket!r} is not an S3 bucket name")
        if not self.export_name:
            raise ValueError("export_name is empty")
        return self


class CurConnector:
    def __init__(self, source_id: str, cfg: AwsCurSource, ctx: Context) -> None:
        self.source_id = source_id
        self.cfg = cfg
        self.ctx = ctx
        self._s3: Any = None
        self.retry = Retry()

    # -- S3 ----------------------------------------------------------------
    @property
    def s3(self) -> Any:
        if self._s3 is None:
            # botocore's retries off: rebill.retry is the one retry layer (see _s3_call)
            self._s3 = make_client("s3", self.cfg.endpoint, self.cfg.region, max_attempts=1)
        return self._s3

    def _s3_call(self, fn: Callable[[], T], where: str) -> T:
        """An idempotent S3 read through rebill.retry (throttling, 5xx, network)."""
        return call(fn, catch=(ClientError, BotoCoreError), classify=verdict, policy=self.retry,
                    what=where)

    @property
    def local(self) -> Path | None:
        if self.cfg.path is None:
            return None
        root = Path(self.cfg.path)
        return root if root.is_absolute() else self.ctx.base_dir / root

    def _where(self, key: str) -> str:
        if self.local is not None:
            return f"source {self.source_id}: {self.local / key}"
        return f"source {self.source_id}: s3://{self.cfg.bucket}/{key}"

    def _root(self) -> str:
        prefix = self.cfg.prefix.strip("/")
        return f"{prefix}/{self.cfg.export_name}" if prefix else self.cfg.export_name

    def manifest_key(self, period: Period) -> str:
        name = f"{self.cfg.export_name}-Manifest.json"
        if self.cfg.layout == "legacy":
            span = f"{period.start:%Y%m%d}-{period.end:%Y%m%d}"
            return f"{self._root()}/{span}/{name}"
        return f"{self._root()}/metadata/BILLING_PERIOD={period.label}/{name}"

    def _list_prefixes(self, prefix: str) -> list[str]:
        found: list[str] = []
        if self.local is not None:
            folder = self.local / prefix
            if folder.is_dir():
                found = [f"{prefix}{p.name}/" for p in sorted(folder.iterdir()) if p.is_dir()]
            return found
        try:
            pages = self._s3_call(lambda: list(self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.cfg.bucket, Prefix=prefix, Delimiter="/")), self._where(prefix))
            for page in pages:
                found += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        except (ClientError, BotoCoreError) as err:
            raise translate(err, self._where(prefix)) from None
        return found

    # -- Connector ---------------------------------------------------------
    def periods(self, since: date, until: date) -> list[Period]:
        """Billing periods in ``[since, until]`` for which a manifest folder exists."""
        labels: set[str] = set()
        if self.cfg.layout == "legacy":
            for p in self._list_prefixes(self._root() + "/"):
                span = p.rstrip("/").rsplit("/", 1)[-1]
                if len(span) == 17 and span[8] == "-" and span[:8].isdigit():
                    labels.add(f"{span[:4]}-{span[4:6]}")
        else:
            for p in self._list_prefixes(self._root() + "/metadata/"):
                tail = p.rstrip("/").rsplit("/", 1)[-1]
                if tail.startswith("BILLING_PERIOD="):
                    labels.add(tail.removeprefix("BILLING_PERIOD="))
        found = []
        for label in sorted(labels):
            try:
                found.append(Period.parse(label))
            except ValueError:
                continue
        return [p for p in found if p.end > since and p.start <= until]

    def _manifest(self, period: Period) -> tuple[dict[str, Any], str]:
        key = self.manifest_key(period)
        if self.local is not None:
            local = self.local / key
            if not local.is_file():
                raise FatalConnectorError(
                    f"{self._where(key)}: no manifest for billing period {period.label}")
            obj: dict[str, Any] = {"ETag": ""}
            body = local.read_bytes()
            return self._parse_manifest(key, obj, body)
        try:
            obj, body = self._s3_call(lambda: self._get_object(key), self._where(key))
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) in ("NoSuchKey", "404"):
                raise FatalConnectorError(
                    f"{self._where(key)}: no manifest for billing period {period.label}"
                ) from None
            raise translate(err, self._where(key)) from None
        except BotoCoreError as err:
            raise translate(err, self._where(key)) from None
        return self._parse_manifest(key, obj, body)

    def _parse_manifest(self, key: str, obj: dict[str, Any],
                        body: bytes) -> tuple[dict[str, Any], str]:
        try:
            manifest = json.loads(body)
        except ValueError as err:
            raise FatalConnectorError(f"{self._where(key)}: manifest is not JSON: {err}") from None
        if not isinstance(manifest, dict):
            raise FatalConnectorError(f"{self._where(key)}: manifest is not a JSON object")
        digest = hashlib.sha256(str(obj.get("ETag", "")).encode() + b"\x1f" + body)
        return manifest, digest.hexdigest()[:32]

    def _file_keys(self, manifest: dict[str, Any], period: Period) -> list[str]:
        where = self._where(self.manifest_key(period))
        listed = manifest.get("dataFiles", manifest.get("reportKeys"))
        if not isinstance(listed, list) or not all(isinstance(k, str) for k in listed):
            raise FatalConnectorError(f"{where}: manifest lists no dataFiles/reportKeys")
        keys = []
        for entry in listed:
            if entry.startswith("s3://"):
                bucket, _, key = entry.removeprefix("s3://").partition("/")
                if self.local is None and bucket != self.cfg.bucket:
                    raise FatalConnectorError(f"{where}: file {entry} is outside the bucket")
                keys.append(key)
            else:
                keys.append(entry)
        return keys

    def extract(self, period: Period) -> Extract:
        manifest, fingerprint = self._manifest(period)
        keys = self._file_keys(manifest, period)
        return Extract(
            fingerprint=fingerprint,
            batches=self._batches(keys),
            notes={"files": str(len(keys)), "manifest": self.manifest_key(period)},
        )

    def _get_object(self, key: str) -> tuple[dict[str, Any], bytes]:
        obj: dict[str, Any] = self.s3.get_object(Bucket=self.cfg.bucket, Key=key)
        return obj, obj["Body"].read()

    # -- reading -------------------------------------------------------------
    def _download(self, key: str) -> Path:
        if self.local is not None:
            return self.local / key
        target = tmp_dir(self.ctx.home) / (
            f"cur-{self.source_id}-{hashlib.sha256(key.encode()).hexdigest()[:16]}-"
            + key.rsplit("/", 1)[-1]
        )
        try:
            self._s3_call(lambda: self.s3.download_file(self.cfg.bucket, key, str(target)),
                          self._where(key))
        except (ClientError, BotoCoreError) as err:
            target.unlink(missing_ok=True)
            raise translate(err, self._where(key)) from None
        return target

    def _batches(self, keys: list[str]) -> Iterator[SourceBatch]:
        for key in keys:
            path = self._download(key)
            try:
                yield from self._read_file(path, key)
            finally:
                if self.local is None:  # a downloaded copy, not the user's file
                    path.unlink(missing_ok=True)

    def _read_file(self, path: Path, key: str) -> Iterator[SourceBatch]:
        parquet = ".parquet" in key
        scan = (
            f"read_parquet({literal(str(path))})" if parquet else
            f"read_csv({literal(str(path))}, all_varchar=true, header=true, "
            "compression='auto', auto_detect=true)"
        )
        con = duck.connect()
        try:
            con.execute("SET TimeZone='UTC'")
            con.execute(f"SET memory_limit='{MEMORY_LIMIT}'")
            # One thread: the streamed batches keep the file's row order and
            # sizes, so the same file always gives the same lake bytes and
            # row numbers in errors are right.
            con.execute("SET threads=1")
            try:
                cols = [
                    (str(r[0]), str(r[1]))
                    for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
                ]
            except duckdb.Error as err:
                raise DataContractError(
                    f"{self._where(key)}: cannot read file: {_first_line(err)}"
                ) from None
            con.execute(f"CREATE TEMP VIEW src AS {source_select(cols, scan)}")
            first = 1 if parquet else 2  # CSV row 1 is the header
            try:
                reader = con.sql(mapping_sql()).to_arrow_reader(BATCH_ROWS)
                for batch in reader:
                    yield SourceBatch(data=batch, origin=self._where(key).split(": ", 1)[1],
                                      first_row=first)
                    first += batch.num_rows
            except duckdb.Error as err:
                raise DataContractError(
                    f"{self._where(key)}, near row {first}: {_first_line(err)}"
                ) from None
        finally:
            con.close()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


SPEC = ConnectorSpec(
    type="aws_cur",
    config_model=AwsCurSource,
    factory=CurConnector,  # type: ignore[arg-type]
    provider="aws",
)
