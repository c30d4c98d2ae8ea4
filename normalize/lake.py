"""Load one (source, billing period) into the lake, atomically.

Batches are streamed: conformed, validated and written one at a time to a
temporary Parquet file beside the partition, so memory does not grow with the
month. Only when every batch passed is the file renamed over the partition's
``part-0.parquet``; a failure or a killed process leaves the previous
partition as it was. The same (source, period, fingerprint) always produces
the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors.base import Connector, Extract, Period
from normalize.conform import conform, validate
from normalize.layout import partition_file
from normalize.loads import LoadRecord, append_load, last_ok_fingerprint
from normalize.schema import ARROW_SCHEMA
from rebill.atomic import commit_file, home_lock, temp_path
from rebill.errors import RebillError

log = logging.getLogger("rebill.lake")

WRITE_OPTIONS = {"compression": "zstd", "use_dictionary": True, "write_statistics": True}


@dataclass(frozen=True)
class LoadResult:
    source: str
    period: str
    status: str  # loaded | unchanged
    rows: int
    fingerprint: str
    billed_cost: dict[str, Decimal]


def load_id_for(source_id: str, period: Period, fingerprint: str) -> str:
    """Deterministic, so a reload of the same fingerprint writes identical bytes."""
    digest = hashlib.sha256(f"{source_id}\x1f{period.label}\x1f{fingerprint}".encode())
    return digest.hexdigest()[:16]


def _row_ids(con: duckdb.DuckDBPyConnection, table: pa.Table, offset: int) -> pa.Array:
    """``<content hash>-<position>``: stable lineage id, distinct for identical rows."""
    con.register("_rows", table)
    try:
        out = con.sql(
            "SELECT substr(md5(to_json(_rows)), 1, 20) || '-' || "
            f"lpad(CAST(row_number() OVER () + {int(offset) - 1} AS VARCHAR), 9, '0') FROM _rows"
        ).to_arrow_table()
    finally:
        con.unregister("_rows")
    return out.column(0).combine_chunks()


def _totals(table: pa.Table, totals: dict[str, Decimal]) -> None:
    if table.num_rows == 0:
        return
    grouped = table.group_by("BillingCurrency").aggregate([("BilledCost", "sum")])
    for cur, amount in zip(
        grouped.column("BillingCurrency").to_pylist(),
        grouped.column("BilledCost_sum").to_pylist(),
        strict=True,
    ):
        totals[cur] = totals.get(cur, Decimal(0)) + amount


def load_partition(
    home: Path,
    connector: Connector,
    period: Period,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Extract, validate and atomically replace one lake partition."""
    source_id = connector.source_id
    started = datetime.now(UTC)
    extract = connector.extract(period)
    target = partition_file(home, source_id, period.label)
    if not force and target.exists() and (
        last_ok_fingerprint(home, source_id, period.label) == extract.fingerprint
    ):
        log.info("%s %s unchanged (fingerprint %s)", source_id, period, extract.fingerprint)
        return LoadResult(source_id, period.label, "unchanged", 0, extract.fingerprint, {})

    target.parent.mkdir(parents=True, exist_ok=True)
    with home_lock(home, f"partition-{source_id}-{period.label}", wait=3600):
        _drop_stale_temps(target)
        return _write(home, source_id, period, extract, target, started, progress)


def _drop_stale_temps(target: Path) -> None:
    """Temporary files a killed writer left (we hold the partition's lock)."""
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        stale.unlink(missing_ok=True)


def _write(
    home: Path,
    source_id: str,
    period: Period,
    extract: Extract,
    target: Path,
    started: datetime,
    progress: Callable[[int], None] | None,
) -> LoadResult:
    load_id = load_id_for(source_id, period, extract.fingerprint)
    tmp = temp_path(target)
    rows = 0
    totals: dict[str, Decimal] = {}
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    try:
        with pq.ParquetWriter(tmp, ARROW_SCHEMA, **WRITE_OPTIONS) as writer:  # type: ignore[arg-type]
            for sb in extract.batches:
                table = conform(source_id, sb)
                validate(con, source_id, sb, table, period)
                if table.num_rows == 0:
                    continue
                n = table.num_rows
                table = table.append_column(
                    pa.field("x_source", pa.string(), nullable=False),
                    pa.array([source_id] * n, pa.string()),
                ).append_column(
                    pa.field("x_row_id", pa.string(), nullable=False), _row_ids(con, table, rows + 1)
                ).append_column(
                    pa.field("x_load_id", pa.string(), nullable=False),
                    pc.cast(pa.array([load_id] * n), pa.string()),
                )
                writer.write_table(table.cast(ARROW_SCHEMA))
                _totals(table, totals)
                rows += n
                if progress:
                    progress(n)
        commit_file(tmp, target)
    except RebillError as err:
        append_load(home, LoadRecord(
            load_id, source_id, period.label, extract.fingerprint, rows, None, None,
            started, datetime.now(UTC), "failed", str(err)))
        raise
    finally:
        tmp.unlink(missing_ok=True)
        con.close()

    single = next(iter(totals.values())) if len(totals) == 1 else None
    append_load(home, LoadRecord(
        load_id, source_id, period.label, extract.fingerprint, rows, single,
        ",".join(sorted(totals)) or None, started, datetime.now(UTC), "ok"))
    log.info("%s %s loaded %d rows", source_id, period, rows)
    return LoadResult(source_id, period.label, "loaded", rows, extract.fingerprint, totals)
