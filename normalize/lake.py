"""Load one (source, billing period) into the lake, atomically.

Batches are streamed: conformed, validated and written one at a time to a
temporary Parquet file beside the partition, so memory does not grow with the
month. Only when every batch passed is the file renamed over the partition's
``part-0.parquet``; a failure or a killed process leaves the previous
partition as it was. The same (source, period, fingerprint) always produces
the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rebill import duck
from rebill.atomic import commit_file, home_lock, temp_path
from rebill.connectors.base import STAGED_ROWS, Connector, Extract, SourceBatch, SqlPart
from rebill.errors import DataContractError, RebillError
from rebill.layout import partition_file, tmp_dir
from rebill.normalize.conform import (
    VIOLATION_MARK,
    Conformed,
    conform,
    conformed,
    conformed_sql,
    describe_violation,
    first_violation,
    guarded,
)
from rebill.normalize.loads import LoadRecord, append_load, last_ok_fingerprint
from rebill.normalize.row_ids import HASH_COLUMN, LINE_COLUMN, hash_sql, row_ids
from rebill.normalize.store import lake_of
from rebill.periods import Period
from rebill.schema import ARROW_SCHEMA, SOURCE_ARROW_SCHEMA, SOURCE_COLUMNS
from rebill.sql import literal

log = logging.getLogger("rebill.lake")


@dataclass(frozen=True)
class LoadResult:
    source: str
    period: str
    status: str  # loaded | unchanged
    rows: int
    fingerprint: str
    billed_cost: dict[str, Decimal]
    rounded_values: int = 0  # source values rounded to 12 decimals
    rounded_amount: Decimal = Decimal(0)  # total absolute amount they lost


def load_id_for(source_id: str, period: Period, fingerprint: str) -> str:
    """Deterministic, so a reload of the same fingerprint writes identical bytes."""
    digest = hashlib.sha256(f"{source_id}\x1f{period.label}\x1f{fingerprint}".encode())
    return digest.hexdigest()[:16]


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
    lake = lake_of(home)
    if not force and lake.exists(source_id, period.label) and (
        last_ok_fingerprint(home, source_id, period.label) == extract.fingerprint
    ):
        log.info("%s %s unchanged (fingerprint %s)", source_id, period, extract.fingerprint)
        return LoadResult(source_id, period.label, "unchanged", 0, extract.fingerprint, {})

    if lake.remote:  # staged locally, then uploaded whole (an object is replaced atomically)
        target = tmp_dir(home) / "lake" / partition_file(Path(), source_id, period.label)
        uri = lake.partition(source_id, period.label)

        def commit(tmp: Path) -> None:
            lake.put(tmp, uri)
    else:
        target = partition_file(home, source_id, period.label)

        def commit(tmp: Path) -> None:
            commit_file(tmp, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with home_lock(home, f"partition-{source_id}-{period.label}", wait=3600):
        _drop_stale_temps(target)
        return _write(home, source_id, period, extract, target, started, progress, commit)


def _drop_stale_temps(target: Path) -> None:
    """Temporary files a killed writer left (we hold the partition's lock)."""
    for stale in target.parent.glob(".*.tmp-*"):
        stale.unlink(missing_ok=True)


def _stage_batches(con: duckdb.DuckDBPyConnection, source_id: str, extract: Extract,
                   staged: Path, progress: Callable[[int], None] | None
                   ) -> list[tuple[int, SourceBatch]]:
    """Write conformed Python batches to ``staged`` with a running ``_line``.

    Returns (first _line, batch) pairs to map a violation back to its origin.
    """
    spans: list[tuple[int, SourceBatch]] = []
    seq = 0
    schema = SOURCE_ARROW_SCHEMA.append(pa.field("_line", pa.int64()))
    with pq.ParquetWriter(staged, schema, compression="zstd") as writer:
        for sb in extract.batches:
            table = conform(source_id, sb)
            if table.num_rows == 0:
                continue
            spans.append((seq + 1, sb))
            lines = pa.array(range(seq + 1, seq + 1 + table.num_rows), pa.int64())
            writer.write_table(table.append_column("_line", lines))
            seq += table.num_rows
            if progress:
                progress(table.num_rows)
    return spans


def _origin_of(spans: list[tuple[int, SourceBatch]], line: int) -> tuple[str, int]:
    """(origin, row number in origin) of staged row ``line``."""
    first, sb = max((s for s in spans if s[0] <= line), key=lambda s: s[0])
    return sb.origin, sb.row_number(line - first)


def _write(
    home: Path,
    source_id: str,
    period: Period,
    extract: Extract,
    target: Path,
    started: datetime,
    progress: Callable[[int], None] | None,
    commit: Callable[[Path], None],
) -> LoadResult:
    load_id = load_id_for(source_id, period, extract.fingerprint)
    tmp = temp_path(target)
    staged = temp_path(target.with_name("staged.parquet"))
    con = duck.connect()
    rows = 0
    totals: dict[str, Decimal] = {}
    origin = "-"  # the part being read, named in DuckDB's own errors
    try:
        if extract.sql_parts is None:
            spans = _stage_batches(con, source_id, extract, staged, progress)
            parts = [SqlPart("staged", f"SELECT * FROM {_scan(staged)}")]
        else:
            spans, parts = [], list(extract.sql_parts())
        chunked = True
        while True:  # once, or twice when a part's closer look replaces it (on_error)
            selects = [_select(con, source_id, load_id, period, i, part)
                       for i, part in enumerate(parts)]
            try:
                _write_parts(con, selects, tmp, {"x_source": source_id, "x_load_id": load_id},
                             chunked)
                break
            except _OutOfOrderError as unordered:  # never seen; the bytes must not vary
                log.warning("source %s: %s: rows out of order on several threads, "
                            "streamed on one instead", source_id, unordered)
                chunked = False
                continue
            except _StreamError as failed:
                origin = failed.select.origin
                again = _look_closer(parts, failed.index, not failed.violation)
                part = parts[failed.index]
                if failed.violation:  # one pass found a bad row: name the first one
                    _threads(con, part.threads)  # row numbers as the part's scan order gives
                    hit = first_violation(
                        con, conformed_sql(con, source_id, part.origin, part.sql), period)
                    if hit is not None:
                        if spans:
                            origin, row = _origin_of(spans, hit[0])
                            hit = (row, *hit[1:])
                        raise DataContractError(
                            describe_violation(source_id, origin, hit)) from None
                if not again:
                    raise DataContractError(
                        f"source {source_id}: {origin}: {failed.message}") from None
        for cur, total, n in con.execute(
            f"SELECT BillingCurrency, sum(BilledCost), count(*) FROM {_scan(tmp)} "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall():
            totals[cur] = total
            rows += n
        commit(tmp)
    except (RebillError, duckdb.Error) as exc:
        err = exc if isinstance(exc, RebillError) else DataContractError(
            f"source {source_id}: {origin}: {duck.error_line(exc)}")
        append_load(home, LoadRecord(
            load_id, source_id, period.label, extract.fingerprint, rows, None, None,
            started, datetime.now(UTC), "failed", str(err)))
        if err is exc:
            raise
        raise err from None
    finally:
        tmp.unlink(missing_ok=True)
        staged.unlink(missing_ok=True)
        con.close()
        if extract.cleanup is not None:
            extract.cleanup()
    if progress and extract.sql_parts is not None:
        progress(rows)
    single = next(iter(totals.values())) if len(totals) == 1 else None
    append_load(home, LoadRecord(
        load_id, source_id, period.label, extract.fingerprint, rows, single,
        ",".join(sorted(totals)) or None, started, datetime.now(UTC), "ok",
        rounded_values=extract.rounding.values, rounded_amount=extract.rounding.amount))
    if extract.rounding.values:
        log.warning("%s %s: %d values had digits beyond 12 decimals, rounded (total %s)",
                    source_id, period, extract.rounding.values, f"{extract.rounding.amount:f}")
    log.info("%s %s loaded %d rows", source_id, period, rows)
    return LoadResult(source_id, period.label, "loaded", rows, extract.fingerprint, totals,
                      extract.rounding.values, extract.rounding.amount)


def _look_closer(parts: list[SqlPart], failed: int, later: bool) -> bool:
    """Replace ``parts[failed]`` by what its ``on_error`` returns; True if it did.

    With ``later``, the parts after it get their closer look now as well: a
    month whose every file needs one then streams twice, not once per file.
    The parts before it streamed cleanly, so a closer look would find nothing.
    """
    again = False
    for i in range(failed, len(parts) if later else failed + 1):
        look = parts[i].on_error
        new = look() if look is not None else None
        if new is not None:
            parts[i] = new
            again = again or i == failed
    return again


def _scan(path: Path) -> str:
    return f"read_parquet({literal(path)}, hive_partitioning=false)"


# DuckDB's own row group size: a materialized chunk comes back in batches of it, so
# a lake row group is one batch as it is (combining a row group of two batches copied
# every column: 46 ms a row group on the writer thread).
ROW_GROUP_ROWS = 122_880


# Rows of one chunk of a part read by ranges (SqlPart.lines): four lake row groups.
CHUNK_ROWS = 4 * ROW_GROUP_ROWS
# Row groups that may wait for the Parquet writer (_RowGroups).
WRITE_AHEAD = 5
# A staged part's batches (small: the mapping starts, and the last row group is
# written, sooner; 1M CUR rows: 6.5 s -> 6.2 s and 0.85 -> 0.65 GB against batches of a
# row group), how many are read ahead, and the memory of the DuckDB reading them.
_STAGED_BATCH_ROWS = 16_384
_STAGED_AHEAD = 32
_READER_MEMORY = "512MB"


@dataclass(frozen=True)
class _Select:
    """One part's query: the lake rows, validated as they stream; for a part read by
    ranges also the same query per chunk of rows (``chunks``, in file order)."""

    origin: str
    sql: str
    threads: int | None
    chunks: tuple[str, ...] = ()
    part: int = 0  # its index among the partition's parts, in the row ids
    # a staged part (SqlPart.staged): its file's rows, and the lake rows over them
    staged: tuple[str, str] | None = None
    absent: frozenset[str] = frozenset()  # the source columns it lacks (NULL throughout)


def _select(con: duckdb.DuckDBPyConnection, source_id: str, load_id: str, period: Period,
            index: int, part: SqlPart) -> _Select:
    def lake_rows(relation: Conformed, where: str = "") -> str:
        # A column the source lacks is NULL throughout, x_source and x_load_id are the
        # same on every row, and the row id's text is laid out from its hash and line:
        # all made by _RowGroups, not converted from DuckDB. The line carries the guard.
        names = ", ".join(f'"{c.name}"' for c in SOURCE_COLUMNS
                          if c.name not in relation.absent)
        return (f"SELECT {names}, {hash_sql()} AS {HASH_COLUMN}, "
                f"{guarded('_line', period)} AS {LINE_COLUMN} FROM ({relation.sql}){where}")

    relation = conformed(con, source_id, part.origin, part.sql)
    staged = None
    absent = relation.absent
    if part.staged is not None and (empty := _rows_placeholder(con, part.staged.rows)) is not None:
        con.register(STAGED_ROWS, empty)  # for conformed's DESCRIBE
        try:
            over = conformed(con, source_id, part.origin, part.staged.sql)
        finally:
            con.unregister(STAGED_ROWS)
        staged = (part.staged.rows, lake_rows(over))
        absent = over.absent

    chunks: tuple[str, ...] = ()
    if part.lines and part.lines > CHUNK_ROWS:
        starts = list(range(0, part.lines, CHUNK_ROWS))
        if part.lines - starts[-1] < CHUNK_ROWS // 2:
            starts.pop()  # a short last chunk joins the one before: one query less to plan
        chunks = tuple(lake_rows(relation, f" WHERE _line > {a}" + (
            f" AND _line <= {starts[i + 1]}" if i + 1 < len(starts) else ""))
                       for i, a in enumerate(starts))
    return _Select(part.origin, lake_rows(relation), part.threads, chunks, index, staged, absent)


def _rows_placeholder(con: duckdb.DuckDBPyConnection, rows: str) -> pa.Table | None:
    """An empty table shaped like a staged part's rows (text and ``_line``); None when
    they are not that (the part then streams unstaged)."""
    kinds = {"VARCHAR": pa.string(), "BIGINT": pa.int64()}
    described = con.execute(f"DESCRIBE {rows}").fetchall()
    if any(str(kind) not in kinds for _, kind, *_ in described):
        return None
    return pa.table({str(name): pa.array([], kinds[str(kind)]) for name, kind, *_ in described})


class _OutOfOrderError(Exception):
    """A chunk's rows came back out of file order (the lake bytes would depend on it)."""


def _in_file_order(table: pa.Table) -> bool:
    """Whether a chunk's rows come in file order: their lines strictly increase."""
    if table.num_rows < 2:
        return True
    lines = table.column(LINE_COLUMN).combine_chunks()
    n = len(lines)
    return bool(pc.all(pc.greater(lines.slice(1), lines.slice(0, n - 1))).as_py())


class _StreamError(Exception):
    """Part ``index``'s stream failed: a row broke the contract (``violation``), or DuckDB
    could not read or convert a value (``message``)."""

    def __init__(self, index: int, select: _Select, err: duckdb.Error) -> None:
        super().__init__(select.origin)
        self.index = index
        self.select = select
        self.violation = VIOLATION_MARK in str(err)
        self.message = duck.error_line(err)


def _write_parts(con: duckdb.DuckDBPyConnection, selects: list[_Select], tmp: Path,
                 constants: dict[str, str], chunked: bool = True) -> None:
    """Stream each part's rows, in order, into one Parquet file of fixed-size row groups.

    One DuckDB query per part streamed through Arrow keeps memory flat (a
    single ``COPY`` of a UNION ALL of many files buffered and spilled: 65 s vs
    18 s at 10M rows; DuckDB's own Parquet bytes also vary run to run). A
    streamed result keeps its order only single-threaded, so a part's query
    streams on one DuckDB thread; a part read by ranges (``chunks``) runs each
    chunk on every thread, materialized in file order (checked: out of order
    raises :class:`_OutOfOrderError`, and the caller streams instead); a staged
    part (a CSV) is read on a thread of its own and mapped as it arrives
    on ``con``'s one thread (:func:`_staged_tables`: two threads busy, where the
    mapping on every thread starved the reading one). A second
    thread encodes the row groups; fixed row groups of one chunk each make the
    bytes independent of how DuckDB happens to chunk its output. Validation
    rides along in the same scan (:func:`guarded`): a bad row stops the stream
    with :class:`_StreamError`.
    """
    empty = frozenset.intersection(*(s.absent for s in selects)) if selects else frozenset()
    with _RowGroups(tmp, constants, empty) as groups:
        for i, select in enumerate(selects):
            try:
                if chunked and (select.staged or select.chunks):
                    # a chunk materialized keeps the file's order (no join in the plan:
                    # see normalize.conform), which is checked, not assumed
                    for table in _chunk_tables(con, select):
                        if not _in_file_order(table):
                            raise _OutOfOrderError(select.origin)
                        for batch in table.to_batches():
                            groups.add(batch, select.part)
                    continue
                _threads(con, select.threads or 1)
                for batch in duck.arrow_batches(con.sql(select.sql), ROW_GROUP_ROWS):
                    groups.add(batch, select.part)
            except duckdb.Error as err:  # a bad row, or a value DuckDB could not read or convert
                raise _StreamError(i, select, err) from None
    _threads(con, None)


def _chunk_tables(con: duckdb.DuckDBPyConnection, select: _Select) -> Iterator[pa.Table]:
    """A staged part's chunks (on one thread, beside the reading one), or a part read
    by ranges' chunks (on every thread), each materialized."""
    if select.staged is not None:
        _threads(con, 1)
        yield from _staged_tables(con, *select.staged)
        return
    _threads(con, None)
    for chunk in select.chunks:
        yield con.sql(chunk).to_arrow_table()


def _staged_tables(con: duckdb.DuckDBPyConnection, rows: str, lake_rows: str
                   ) -> Iterator[pa.Table]:
    """A staged part's lake rows, batch by batch, in file order.

    A thread streams the file's rows (``rows``) from a DuckDB of its own on one
    thread, so they come in file order, while ``con`` streams them, on its one
    thread, through one query (``lake_rows`` over :data:`STAGED_ROWS`, planned
    once: planning it again for every row group cost 0.09 s each, 0.9 s at 1M
    rows). At most ``_STAGED_AHEAD`` batches wait for ``con``; leaving early
    (an error, a bad row) stops the reading thread.
    """
    reader = duck.connect(memory_limit=_READER_MEMORY)
    reader.execute("SET threads=1")
    ready: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(_STAGED_AHEAD)
    stop = threading.Event()

    def offer(item: pa.RecordBatch | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in duck.arrow_batches(reader.sql(rows), _STAGED_BATCH_ROWS):
                if not offer(batch):
                    return
            offer(None)
        except BaseException as err:  # noqa: BLE001 - handed to the consuming thread
            offer(err)

    thread = threading.Thread(target=read, name="rebill-read", daemon=True)
    thread.start()
    try:
        first = ready.get()
        if isinstance(first, BaseException):
            raise first
        if first is None:
            return
        failed: list[BaseException] = []
        con.register(STAGED_ROWS, pa.RecordBatchReader.from_batches(
            first.schema, _queued(first, ready, failed)))
        try:
            for batch in duck.arrow_batches(con.sql(lake_rows), ROW_GROUP_ROWS):
                yield pa.Table.from_batches([batch])
        except Exception:
            if failed:  # the reading thread's error, as it was
                raise failed[0] from None
            raise
    finally:
        stop.set()
        reader.interrupt()
        thread.join()
        reader.close()
        con.unregister(STAGED_ROWS)


def _queued(first: pa.RecordBatch, ready: queue.Queue[pa.RecordBatch | BaseException | None],
            failed: list[BaseException]) -> Iterator[pa.RecordBatch]:
    """The reading thread's batches, ``first`` first, until it is done; its error is
    kept in ``failed`` and raised."""
    item: pa.RecordBatch | BaseException | None = first
    while item is not None:
        if isinstance(item, BaseException):
            failed.append(item)
            raise item
        yield item
        item = ready.get()


def _threads(con: duckdb.DuckDBPyConnection, threads: int | None) -> None:
    con.execute(f"SET threads={int(threads)}" if threads else "RESET threads")


def _sliced(made: dict[Any, pa.Array], key: object, rows: int,
            make: Callable[[int], pa.Array]) -> pa.Array:
    """``rows`` rows of a column with one value throughout: a slice of the one kept in
    ``made`` under ``key``, made (at least a row group long) when it is too short.
    Made afresh for every batch, the 36 all-NULL columns of the bench's FOCUS export
    took 12 ms a row group (1 s at 10M rows); converting DuckDB's x_source and
    x_load_id, 0.07 s a million rows."""
    have = made.get(key)
    if have is None or len(have) < rows:
        have = made[key] = make(max(rows, ROW_GROUP_ROWS))
    return have.slice(0, rows)


# An all-NULL column per type (see _sliced).
_NULLS: dict[Any, pa.Array] = {}


def _nulls(rows: int, kind: pa.DataType) -> pa.Array:
    return _sliced(_NULLS, kind, rows, lambda n: pa.nulls(n, kind))


def _lake_batch(batch: pa.RecordBatch, part: int, missing: Callable[[pa.Field, int], pa.Array]
                ) -> pa.RecordBatch:
    """A batch of :func:`_select`'s rows in the lake's schema: ``x_row_id`` laid out
    from the hash and line, a column the batch lacks from ``missing`` (field, rows);
    DuckDB's nullability and map naming vary by part."""
    present = set(batch.schema.names)
    arrays = []
    for f in ARROW_SCHEMA:
        if f.name == "x_row_id":
            arrays.append(row_ids(batch.column(HASH_COLUMN), batch.column(LINE_COLUMN), part))
        elif f.name not in present:
            arrays.append(missing(f, batch.num_rows))
        else:
            column = batch.column(f.name)
            arrays.append(column if column.type == f.type else column.cast(f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=ARROW_SCHEMA)


# x_row_id is unique per row: a dictionary would fill up and be dropped on every row group.
_DICTIONARY = [f.name for f in ARROW_SCHEMA if f.name != "x_row_id"]
# Minimum and maximum for dates and flags, where a reader's filter (a day, a period)
# can skip a row group. An amount filter seldom can, and their statistics cost the
# writer 6 % of its time (16-byte decimals compared one by one); text ones a fifth.
_STATISTICS = [f.name for f in ARROW_SCHEMA
               if not (pa.types.is_string(f.type) or pa.types.is_map(f.type)
                       or pa.types.is_decimal(f.type))]


def _compression(empty: frozenset[str]) -> str | dict[str, str]:
    """zstd, but none for the columns ``empty`` names (NULL in every row of the file):
    their pages are a few bytes, and a zstd context made for each of them cost the
    writer 7 % of its time with the bench's 37 such columns."""
    if not empty:
        return "zstd"
    return {path: "none" if path.split(".")[0] in empty else "zstd" for path in _leaf_paths()}


@functools.cache
def _leaf_paths() -> tuple[str, ...]:
    """The Parquet column paths of the lake's schema (a map has two: key and value)."""
    sink = io.BytesIO()
    pq.write_table(ARROW_SCHEMA.empty_table(), sink)
    schema = pq.ParquetFile(io.BytesIO(sink.getvalue())).schema
    return tuple(schema.column(i).path for i in range(len(schema)))


class _RowGroups:
    """Cut batches into row groups of ``ROW_GROUP_ROWS`` and write them on a second thread.

    Encoding a row group (pyarrow, GIL released) overlaps DuckDB producing the
    next ones; at most ``WRITE_AHEAD`` row groups wait for the writer (a chunk
    of a part read by ranges and one more), so memory stays flat.
    """

    def __init__(self, path: Path, constants: dict[str, str],
                 empty: frozenset[str] = frozenset()) -> None:
        duck.arrow_jemalloc()
        self._constants = constants  # column -> its text on every row
        self._same: dict[Any, pa.Array] = {}
        self._writer = pq.ParquetWriter(path, ARROW_SCHEMA, compression=_compression(empty),
                                        use_dictionary=_DICTIONARY, write_statistics=_STATISTICS)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="rebill-parquet")
        self._writing: deque[Future[None]] = deque()
        self._pending: list[pa.RecordBatch] = []
        self._held = 0

    def __enter__(self) -> _RowGroups:
        return self

    def add(self, batch: pa.RecordBatch, part: int) -> None:
        self._pending.append(_lake_batch(batch, part, self._missing))
        self._held += batch.num_rows
        while self._held >= ROW_GROUP_ROWS:
            table = pa.Table.from_batches(self._pending)
            self._submit(table.slice(0, ROW_GROUP_ROWS))
            rest = table.slice(ROW_GROUP_ROWS)
            self._pending = rest.to_batches()
            self._held = rest.num_rows

    def _missing(self, field: pa.Field, rows: int) -> pa.Array:
        """A column DuckDB did not hand over: one of the constants, else all NULL."""
        text = self._constants.get(field.name)
        if text is None:
            return _nulls(rows, field.type)
        return _sliced(self._same, field.name, rows,
                       lambda n: pa.repeat(pa.scalar(text, field.type), n))

    def _submit(self, table: pa.Table) -> None:
        while len(self._writing) >= WRITE_AHEAD or (self._writing and self._writing[0].done()):
            self._writing.popleft().result()  # the writer's error, if any, surfaces here
        self._writing.append(self._pool.submit(self._write, table))

    def _write(self, table: pa.Table) -> None:
        # one chunk per column: the pages do not depend on DuckDB's batch sizes
        self._writer.write_table(table.combine_chunks())

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            if kind is None and self._held:
                self._submit(pa.Table.from_batches(self._pending))
            while self._writing:
                if kind is None:
                    self._writing.popleft().result()
                else:  # finish writing, but the error that stopped the stream is the one to tell
                    self._writing.popleft().exception()
        finally:
            self._pool.shutdown(wait=True)
            self._writer.close()
