"""Where the lake's partitions live: ``<home>/lake/costs`` or an object store.

The one place that knows "local or S3". With ``[rebill] lake_uri =
"s3://bucket/prefix"`` the partitions are objects under
``<lake_uri>/costs/source=<id>/billing_period=YYYY-MM/part-0.parquet``;
state, rated outputs and the catalog stay in ``<home>``. A partition is still
written to a local temporary file first, then uploaded whole: an S3 object is
replaced atomically, so readers see the old partition or the new one.

DuckDB reads the object store through a pyarrow ``S3FileSystem`` wrapped for
fsspec and registered on every connection :mod:`rebill.duck` opens. pyarrow
does not read ``AWS_ENDPOINT_URL``, so the endpoint (``lake_endpoint``, else
that variable) is passed explicitly; credentials come from the standard AWS
environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow.fs as pafs
from fsspec.implementations.arrow import ArrowFSWrapper

from rebill import duck
from rebill.config import Config
from rebill.errors import RebillError
from rebill.layout import SCHEMA_DIR, lake_root

PART = "part-0.parquet"


def _part(source_id: str, period_label: str) -> str:
    return f"source={source_id}/billing_period={period_label}/{PART}"


@dataclass(frozen=True)
class Lake:
    """The lake of one home: ``uri`` is None for the local ``<home>/lake/costs``."""

    home: Path
    uri: str | None = None  # s3://bucket/prefix
    endpoint: str | None = None

    @property
    def remote(self) -> bool:
        return self.uri is not None

    @property
    def root(self) -> str:
        """The folder holding ``source=*/billing_period=*``, as DuckDB reads it."""
        if self.uri is None:
            return str(lake_root(self.home))
        return self.uri.rstrip("/") + "/costs"

    def partition(self, source_id: str, period_label: str) -> str:
        return f"{self.root}/{_part(source_id, period_label)}"

    def placeholder(self) -> str:
        """The empty schema-only file that keeps globs and views valid on an empty lake."""
        return f"{self.root}/{SCHEMA_DIR}/{SCHEMA_DIR}/{PART}"

    def glob(self) -> str:
        """Every partition file, placeholder included (what the ``costs`` view reads)."""
        return f"{self.root}/*/*/*.parquet"

    def period_files(self, period_label: str) -> list[str]:
        """The partition files of one billing period, every source, sorted."""
        if self.uri is None:
            found = sorted(lake_root(self.home).glob(
                f"source=*/billing_period={period_label}/*.parquet"))
            return [str(p) for p in found if not p.name.startswith(".")]
        return self._remote_glob(f"source=*/billing_period={period_label}/*.parquet")

    def all_files(self) -> list[str]:
        """Every partition file (placeholder excluded), sorted."""
        if self.uri is None:
            found = sorted(lake_root(self.home).glob("source=*/billing_period=*/*.parquet"))
            return [str(p) for p in found if not p.name.startswith(".")]
        return self._remote_glob("source=*/billing_period=*/*.parquet")

    def exists(self, source_id: str, period_label: str) -> bool:
        return self.has(self.partition(source_id, period_label))

    def has(self, uri: str) -> bool:
        """Whether the file (local path or object, one HEAD request) exists."""
        if self.uri is None:
            return Path(uri).exists()
        try:
            info = self.filesystem.get_file_info(self._key(uri))
        except OSError as err:
            raise _error(uri, "cannot be read", err) from None
        return bool(info.type == pafs.FileType.File)

    def put(self, local: Path, target: str) -> None:
        """Upload ``local`` as the object ``target`` (replaced whole, atomically)."""
        try:
            pafs.copy_files(str(local), self._key(target),
                            source_filesystem=pafs.LocalFileSystem(),
                            destination_filesystem=self.filesystem)
        except OSError as err:
            raise _error(target, "upload failed", err) from None

    @cached_property
    def filesystem(self) -> pafs.S3FileSystem:
        endpoint = self.endpoint or os.environ.get("AWS_ENDPOINT_URL") or None
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        kwargs: dict[str, str] = {}
        if endpoint:
            kwargs["endpoint_override"] = endpoint
            if endpoint.startswith("http://"):
                kwargs["scheme"] = "http"
        if region:
            kwargs["region"] = region
        return pafs.S3FileSystem(**kwargs)  # type: ignore[arg-type]

    def _key(self, uri: str) -> str:
        return uri.removeprefix("s3://")

    def _remote_glob(self, pattern: str) -> list[str]:
        wrapper = ArrowFSWrapper(self.filesystem)
        try:
            found = wrapper.glob(f"{self._key(self.root)}/{pattern}")
        except OSError as err:
            raise _error(self.root, "cannot be listed", err) from None
        return sorted(f"s3://{p}" for p in found if not p.rsplit("/", 1)[-1].startswith("."))


def _error(uri: str, what: str, err: OSError) -> RebillError:
    """One line naming the object; the AWS credentials never appear in pyarrow's message."""
    first = (str(err).splitlines() or [type(err).__name__])[0]
    return RebillError(f"lake {uri}: {what}: {first}")


_lakes: dict[Path, Lake] = {}


def use(cfg: Config) -> Lake:
    """Record (and return) the lake ``cfg`` configures for its home.

    Called when a configuration is loaded, and again wherever work starts from
    a configuration (a Dask worker gets the configuration, not the process).
    """
    home = cfg.home
    uri = cfg.rebill.lake_uri
    if uri is None:
        _lakes.pop(home, None)
        return Lake(home)
    lake = Lake(home, uri, cfg.rebill.lake_endpoint)
    if _lakes.get(home) != lake:
        _lakes[home] = lake
        duck.register_filesystem(ArrowFSWrapper(lake.filesystem))
    return lake


def lake_of(home: Path) -> Lake:
    """The lake of ``home``: the configured object store, else ``<home>/lake/costs``."""
    return _lakes.get(home.resolve()) or Lake(home)
