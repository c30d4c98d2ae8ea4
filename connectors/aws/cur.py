"""The ``aws_cur`` source: CUR 2.0 (Data Exports) or legacy CUR files in S3.

For each billing period the connector reads the manifest AWS writes after the
data files, and exactly the files it lists:

* CUR 2.0: ``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``
  (``dataFiles``: ``s3://`` URIs of Parquet or gzip CSV files);
* legacy: ``<prefix>/<export>/YYYYMMDD-YYYYMMDD/<export>-Manifest.json``
  (``reportKeys``: object keys of GZIP/ZIP CSV or Parquet files). That
  manifest always describes the latest assembly; when it is missing (a
  partial copy), the newest ``<span>/<assemblyId>/<export>-Manifest.json``
  wins.

A report with an empty prefix has keys beginning with ``/``
(``/<export>/<span>/...``): both spellings are tried in S3, and a local copy
(``path``) resolves them under its folder.

The fingerprint is the manifest (its ETag and a hash of its bytes, which
name the delivery's execution/assembly id and files): a re-delivered or
restated month changes it, an unchanged one is not re-read. AWS re-delivers
the current month up to three times a day and restates the previous one for
about two weeks after it ends; the nightly flow asks for both until then.

Each file is downloaded to ``<home>/tmp`` (S3) and handed to the lake writer
as a DuckDB query (``cur_read.py``, ``cur_mapping.sql``): DuckDB reads the
file and writes the partition, no row passes through Python, and memory does
not grow with the month.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import model_validator

from rebill import duck
from rebill.connectors.aws.client import make_client, translate, verdict
from rebill.connectors.aws.cur_read import file_format, file_part, unzip
from rebill.connectors.base import (
    ConnectorSpec,
    Context,
    Extract,
    Rounding,
    SourceConfig,
    SqlPart,
)
from rebill.errors import FatalConnectorError
from rebill.layout import tmp_dir
from rebill.periods import Period
from rebill.retry import Retry, call

T = TypeVar("T")

log = logging.getLogger("rebill.aws_cur")
# Manifest "compression" values AWS documents (ReportDefinition.Compression).
COMPRESSIONS = ("GZIP", "ZIP", "PARQUET")


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
        self._manifests: dict[str, str] = {}  # period label -> manifest key read
        self.retry = Retry()

    # -- where things are ------------------------------------------------------
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

    def _local_path(self, key: str) -> Path:
        assert self.local is not None
        return self.local / key.lstrip("/")

    def _where(self, key: str) -> str:
        if self.local is not None:
            return f"source {self.source_id}: {self._local_path(key)}"
        return f"source {self.source_id}: s3://{self.cfg.bucket}/{key}"

    def _roots(self) -> list[str]:
        """Key prefixes of the report: an empty prefix also means a leading ``/``."""
        prefix = self.cfg.prefix.strip("/")
        if prefix:
            return [f"{prefix}/{self.cfg.export_name}"]
        if self.local is not None:
            return [self.cfg.export_name]
        return [self.cfg.export_name, "/" + self.cfg.export_name]

    def _manifest_name(self) -> str:
        return f"{self.cfg.export_name}-Manifest.json"

    def _period_dir(self, root: str, period: Period) -> str:
        if self.cfg.layout == "legacy":
            return f"{root}/{period.start:%Y%m%d}-{period.end:%Y%m%d}"
        return f"{root}/metadata/BILLING_PERIOD={period.label}"

    def manifest_key(self, period: Period) -> str:
        if period.label in self._manifests:
            return self._manifests[period.label]
        return f"{self._period_dir(self._roots()[0], period)}/{self._manifest_name()}"

    # -- listing and reading objects --------------------------------------------
    def _list(self, prefix: str, delimiter: bool) -> list[tuple[str, float]]:
        """(key or sub-prefix, modification time) under ``prefix``."""
        if self.local is not None:
            folder = self._local_path(prefix)
            if not folder.is_dir():
                return []
            if delimiter:
                return [(f"{prefix}{p.name}/", 0.0) for p in sorted(folder.iterdir()) if p.is_dir()]
            return [(f"{prefix}{p.relative_to(folder).as_posix()}", p.stat().st_mtime)
                    for p in sorted(folder.rglob("*")) if p.is_file()]
        found: list[tuple[str, float]] = []
        args: dict[str, Any] = {"Bucket": self.cfg.bucket, "Prefix": prefix}
        if delimiter:
            args["Delimiter"] = "/"
        try:
            pages = self._s3_call(lambda: list(
                self.s3.get_paginator("list_objects_v2").paginate(**args)), self._where(prefix))
            for page in pages:
                found += [(p["Prefix"], 0.0) for p in page.get("CommonPrefixes", [])]
                found += [(o["Key"], o["LastModified"].timestamp())
                          for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as err:
            raise translate(err, self._where(prefix)) from None
        return found

    def _get(self, key: str) -> tuple[bytes, str] | None:
        """(body, ETag) of an object, None when it does not exist."""
        if self.local is not None:
            path = self._local_path(key)
            return (path.read_bytes(), "") if path.is_file() else None
        try:
            return self._s3_call(lambda: self._get_object(key), self._where(key))
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) in ("NoSuchKey", "404"):
                return None
            raise translate(err, self._where(key)) from None
        except BotoCoreError as err:
            raise translate(err, self._where(key)) from None

    def _get_object(self, key: str) -> tuple[bytes, str]:
        obj: dict[str, Any] = self.s3.get_object(Bucket=self.cfg.bucket, Key=key)
        return obj["Body"].read(), str(obj.get("ETag", ""))

    # -- Connector ---------------------------------------------------------
    def periods(self, since: date, until: date) -> list[Period]:
        """Billing periods in ``[since, until]`` for which a manifest folder exists."""
        labels: set[str] = set()
        for root in self._roots():
            if self.cfg.layout == "legacy":
                for p, _ in self._list(root + "/", delimiter=True):
                    span = p.rstrip("/").rsplit("/", 1)[-1]
                    if len(span) == 17 and span[8] == "-" and span[:8].isdigit():
                        labels.add(f"{span[:4]}-{span[4:6]}")
            else:
                for p, _ in self._list(root + "/metadata/", delimiter=True):
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

    def _find_manifest(self, period: Period) -> tuple[str, bytes, str]:
        """(key, body, ETag) of the manifest describing the period's latest delivery."""
        for root in self._roots():
            key = f"{self._period_dir(root, period)}/{self._manifest_name()}"
            got = self._get(key)
            if got is not None:
                return key, *got
        if self.cfg.layout == "legacy":  # only assembly folders: the newest wins
            candidates = []
            for root in self._roots():
                folder = self._period_dir(root, period) + "/"
                for key, mtime in self._list(folder, delimiter=False):
                    rest = key[len(folder):].split("/")
                    if len(rest) == 2 and rest[1] == self._manifest_name():
                        candidates.append((mtime, key))
            if candidates:
                key = max(candidates)[1]
                got = self._get(key)
                if got is not None:
                    return key, *got
        raise FatalConnectorError(
            f"{self._where(self.manifest_key(period))}: no manifest for billing period "
            f"{period.label}")

    def _manifest(self, period: Period) -> tuple[dict[str, Any], str]:
        key, body, etag = self._find_manifest(period)
        self._manifests[period.label] = key
        try:
            manifest = json.loads(body)
        except ValueError as err:
            raise FatalConnectorError(f"{self._where(key)}: manifest is not JSON: {err}") from None
        if not isinstance(manifest, dict):
            raise FatalConnectorError(f"{self._where(key)}: manifest is not a JSON object")
        compression = manifest.get("compression")
        if compression is not None and str(compression).upper() not in COMPRESSIONS:
            raise FatalConnectorError(
                f"{self._where(key)}: manifest compression {compression!r} is not one AWS "
                "documents (ZIP, GZIP, Parquet)")
        digest = hashlib.sha256(etag.encode() + b"\x1f" + body)
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
        for key in keys:
            file_format(key, self._where(key))  # refuse an unknown format before any work
        return keys

    def extract(self, period: Period) -> Extract:
        manifest, fingerprint = self._manifest(period)
        keys = self._file_keys(manifest, period)
        rounding = Rounding()
        temps: list[Path] = []

        def cleanup() -> None:
            for path in temps:
                path.unlink(missing_ok=True)

        return Extract(
            fingerprint=fingerprint,
            sql_parts=lambda: self._parts(keys, rounding, temps),
            rounding=rounding,
            cleanup=cleanup,
            notes={"files": str(len(keys)), "manifest": self.manifest_key(period)},
        )

    # -- reading -------------------------------------------------------------
    def _temp(self, key: str, suffix: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return tmp_dir(self.ctx.home) / f"cur-{self.source_id}-{digest}{suffix}"

    def _download(self, key: str, temps: list[Path]) -> tuple[Path, str]:
        """A readable local copy of ``key`` and how to name it in messages."""
        if self.local is not None:
            path = self._local_path(key)
            return path, str(path)
        name = key.rsplit("/", 1)[-1]
        target = self._temp(key, "-" + name)
        temps.append(target)
        tried = [key, key.lstrip("/")] if key.startswith("/") else [key]
        for i, candidate in enumerate(tried):
            try:
                self._s3_call(lambda c=candidate: self.s3.download_file(  # type: ignore[misc]
                    self.cfg.bucket, c, str(target)), self._where(candidate))
                return target, f"s3://{self.cfg.bucket}/{candidate}"
            except ClientError as err:
                missing = str(err.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey")
                if missing and i + 1 < len(tried):
                    continue
                raise translate(err, self._where(candidate)) from None
            except BotoCoreError as err:
                raise translate(err, self._where(candidate)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _parts(self, keys: list[str], rounding: Rounding, temps: list[Path]) -> list[SqlPart]:
        parts = []
        con = duck.connect()
        try:
            for key in keys:
                path, origin = self._download(key, temps)
                where = f"source {self.source_id}: {origin}"
                fmt = file_format(key, where)
                if fmt == "zip":
                    target = self._temp(key, ".csv")
                    temps.append(target)
                    path, fmt = unzip(path, target, where), "csv"
                parts.append(file_part(con, path, fmt, where, origin, rounding))
        finally:
            con.close()
        return parts


SPEC = ConnectorSpec(
    type="aws_cur",
    config_model=AwsCurSource,
    factory=CurConnector,  # type: ignore[arg-type]
    provider="aws",
)
