"""Writing rated outputs: deterministic Parquet files staged, then swapped in whole."""

from __future__ import annotations

import os
import shutil
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from rebill import duck
from rebill.atomic import replace_dir
from rebill.layout import rated_dir, rated_root, tmp_dir
from rebill.periods import Period

BATCH_ROWS = 262_144
_IN_FLIGHT = 2
WRITE_OPTIONS = {"compression": "zstd", "use_dictionary": True, "write_statistics": True}


def staging_dir(home: Path, period: Period) -> Path:
    """A fresh folder beside the home's other staging areas (same filesystem)."""
    path = tmp_dir(home) / f"rated-{period.label}-{os.getpid()}"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def write_query(con: duckdb.DuckDBPyConnection, sql: str, schema: pa.Schema, path: Path) -> int:
    """Stream ``sql`` (which must end in ORDER BY a full key) into ``path``; returns rows.

    Parquet encoding runs on one writer thread (pyarrow releases the GIL) while
    DuckDB produces the next batch; batches are written in order, at most
    ``_IN_FLIGHT`` of them held at once.
    """
    rows = 0
    duck.arrow_jemalloc()
    reader = duck.arrow_batches(con.sql(sql), BATCH_ROWS)
    pending: deque[Future[None]] = deque()
    with (
        pq.ParquetWriter(path, schema, **WRITE_OPTIONS) as writer,  # type: ignore[arg-type]
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="rated-writer") as pool,
    ):
        try:
            for batch in reader:
                table = pa.Table.from_batches([batch]).select(schema.names).cast(schema)
                rows += table.num_rows
                pending.append(pool.submit(writer.write_table, table))
                while len(pending) >= _IN_FLIGHT:
                    pending.popleft().result()
        finally:
            while pending:
                pending.popleft().result()
    return rows


def write_rows(rows: Sequence[dict[str, Any]], schema: pa.Schema, path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), path, **WRITE_OPTIONS)  # type: ignore[arg-type]


def publish(staged: Path, home: Path, period: Period) -> Path:
    """Atomically make ``staged`` the period's rated folder (the old one is dropped)."""
    target = rated_dir(home, period.label)
    rated_root(home).mkdir(parents=True, exist_ok=True)
    for f in staged.iterdir():
        with f.open("rb+") as fh:
            os.fsync(fh.fileno())
    replace_dir(staged, target)
    return target
