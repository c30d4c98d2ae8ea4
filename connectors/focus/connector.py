"""Read FOCUS CSV/Parquet files matched by a glob, one billing period at a time.

Values must be what FOCUS says: ISO 8601 date-times and plain decimals. A
file saved by a spreadsheet (``9/1/2024 0:00``, ``"$10,100.00 "``) is refused
with one line naming file, row, column and value, unless the source declares
its layout (``datetime_format``, ``decimal_separator``, ``thousands_separator``,
``currency_symbol``). Files whose rows all fall outside the requested range
are named with the periods they do hold: an ingest never succeeds silently
having landed nothing.
"""

from __future__ import annotations

import csv
import glob as globlib
import hashlib
import logging
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import field_validator

from rebill import __version__, duck
from rebill.connectors.base import (
    ConnectorSpec,
    Context,
    Extract,
    Rounding,
    SourceConfig,
    SqlPart,
)
from rebill.connectors.focus.facts import Facts, FileFacts
from rebill.connectors.focus.mapping import (
    FALLBACKS,
    PARSE_HINTS,
    Layout,
    cast_expr,
    money_text,
    must_parse,
    resolve_columns,
)
from rebill.errors import DataContractError, FatalConnectorError
from rebill.periods import Period
from rebill.schema import BY_NAME, MONEY_SQL, SOURCE_COLUMNS
from rebill.sql import ident, literal

log = logging.getLogger("rebill.focus")


class FocusSource(SourceConfig):
    type: Literal["focus"] = "focus"
    path: str  # glob, relative to the config file's folder
    format: Literal["auto", "csv", "parquet"] = "auto"
    # A spreadsheet's layout, accepted only when declared (strptime formats,
    # e.g. "%m/%d/%Y %H:%M"; times are UTC).
    datetime_format: str | list[str] | None = None
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal[",", ".", " ", "'"] | None = None
    currency_symbol: str | list[str] | None = None  # stripped from amounts, e.g. "$"

    @field_validator("datetime_format")
    @classmethod
    def _format(cls, value: str | list[str] | None) -> str | list[str] | None:
        for fmt in [value] if isinstance(value, str) else value or []:
            if "%" not in fmt:
                raise ValueError(f"{fmt!r} is not a strptime format (e.g. \"%m/%d/%Y %H:%M\")")
        return value

    def layout(self) -> Layout:
        if self.thousands_separator == self.decimal_separator:
            raise FatalConnectorError("decimal_separator and thousands_separator are the same")
        def many(v: str | list[str] | None) -> tuple[str, ...]:
            return (v,) if isinstance(v, str) else tuple(v or ())
        return Layout(many(self.datetime_format), self.decimal_separator,
                      self.thousands_separator, many(self.currency_symbol))


class FocusConnector:
    # Files say which periods they hold: a plain ``rebill ingest`` loads them all.
    lists_periods = True

    def __init__(self, source_id: str, cfg: FocusSource, ctx: Context) -> None:
        self.source_id = source_id
        self.cfg = cfg
        self.ctx = ctx
        self._periods: dict[Path, set[str]] = {}
        self._rounded: dict[Path, tuple[int, Decimal]] = {}  # checked files
        self._types: dict[Path, dict[str, str]] = {}  # each file's columns, described once
        self._mapped_sql: dict[Path, str] = {}
        self._layout = cfg.layout()
        self._facts = FileFacts(ctx.home, source_id, f"{__version__}\n{cfg.model_dump_json()}")

    # -- files -----------------------------------------------------------
    def files(self) -> list[Path]:
        pattern = self.cfg.path
        if not Path(pattern).is_absolute():
            pattern = str(self.ctx.base_dir / pattern)
        found = sorted(Path(p) for p in globlib.glob(pattern, recursive=True))  # noqa: PTH207
        return [p for p in found if p.is_file()]

    def _format(self, path: Path) -> str:
        if self.cfg.format != "auto":
            return self.cfg.format
        return "parquet" if ".parquet" in path.suffixes else "csv"

    def _scan(self, con: duckdb.DuckDBPyConnection, path: Path) -> str:
        if self._format(path) == "parquet":
            return f"read_parquet({literal(str(path))}, file_row_number=true, hive_partitioning=false)"
        return (
            f"read_csv({literal(str(path))}, all_varchar=true, header=true, "
            "nullstr=['NULL', ''], auto_detect=true)"
        )

    def _file_types(self, con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
        """The file's own columns and their DuckDB types."""
        if path not in self._types:
            self._types[path] = {str(name): str(kind) for name, kind in con.execute(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                f"{self._scan(con, path)})").fetchall()}
        return self._types[path]

    def _mapped(self, con: duckdb.DuckDBPyConnection, path: Path) -> str:
        """SQL selecting ``_line`` plus every canonical column present or derivable."""
        if path not in self._mapped_sql:
            self._mapped_sql[path] = self._mapping(con, path)
        return self._mapped_sql[path]

    def _mapping(self, con: duckdb.DuckDBPyConnection, path: Path) -> str:
        scan = self._scan(con, path)
        types = self._file_types(con, path)
        found = resolve_columns(list(types))
        header = 1 if self._format(path) == "csv" else 0
        line = ("file_row_number + 1" if self._format(path) == "parquet"
                else f"row_number() OVER () + {header}")
        exprs = [f"{line} AS _line"]
        raws, checked = [], []
        for col in SOURCE_COLUMNS:
            if col.name in found:
                source_type = str(types[found[col.name]])
                expr = cast_expr(col.name, col.sql, found[col.name], source_type, self._layout)
                exprs.append(f'{expr} AS "{col.name}"')
                if must_parse(col.sql, source_type):  # text (or floats) that must parse
                    raws.append(f'CAST({ident(found[col.name])} AS VARCHAR) AS "_raw_{col.name}"')
                    checked.append(col.name)
        inner = f"SELECT {', '.join(exprs + raws)} FROM {scan}"
        outer = ["_line"]
        for col in SOURCE_COLUMNS:
            options = [c for c in (col.name, *FALLBACKS.get(col.name, ())) if c in found]
            if options:
                quoted = ", ".join(ident(c) for c in options)
                outer.append(f'coalesce({quoted}) AS "{col.name}"')
            elif col.required:
                ragged = self._ragged_row(path, list(types))
                raise DataContractError(
                    f"source {self.source_id}: {path}: " + (
                        ragged or f"required FOCUS column {col.name} missing")
                )
        # the column's own parsed value, before any fallback: a value that does not
        # parse is an error, never silently replaced by the fallback column
        outer += [f'"{c}" AS "_own_{c}"' for c in checked]
        outer += [f'"_raw_{c}"' for c in checked]
        return f"SELECT {', '.join(outer)} FROM ({inner})"

    def _ragged_row(self, path: Path, columns: list[str]) -> str | None:
        """For a CSV the sniffer read as one column: the first row whose field count
        differs from the header's (DuckDB gives up on the dialect instead)."""
        if self._format(path) != "csv" or len(columns) != 1 or "," not in columns[0]:
            return None
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                header = next(reader, [])
                for row in reader:
                    if row and len(row) != len(header):
                        return (f"row {reader.line_num}: {len(row)} fields, the header has "
                                f"{len(header)}")
        except (UnicodeDecodeError, csv.Error) as err:
            return f"not a readable UTF-8 CSV: {err}"
        return None

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return duck.connect()

    def _file_periods(self, con: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
        if path not in self._periods:
            known = self._facts.get(path)
            if known is not None:  # read and checked before, unchanged since: not read again
                self._rounded[path] = known.rounded
                self._periods[path] = set(known.periods)
                return self._periods[path]
            try:
                self._checked(con, path, self._mapped(con, path))
                months = self._footer_periods(con, path)
                if months is None:
                    months = {r[0] for r in con.execute(  # date_trunc: cheaper than strftime
                        "SELECT DISTINCT strftime(month, '%Y-%m') FROM (SELECT DISTINCT "
                        f"date_trunc('month', BillingPeriodStart) AS month FROM "
                        f"({self._mapped(con, path)}) WHERE BillingPeriodStart IS NOT NULL)"
                    ).fetchall()}
            except duckdb.Error as err:  # corrupt, truncated or empty file, bad encoding
                raise DataContractError(
                    f"source {self.source_id}: {path}: {duck.error_line(err)}") from None
            self._periods[path] = months
            self._facts.put(path, Facts(frozenset(self._periods[path]), self._rounded[path]))
        return self._periods[path]

    def _footer_periods(self, con: duckdb.DuckDBPyConnection, path: Path) -> set[str] | None:
        """A typed Parquet file's billing periods from its row groups' statistics, without
        reading its rows; None when they cannot tell (the rows are read instead)."""
        if self._format(path) != "parquet":
            return None
        types = self._file_types(con, path)
        column = resolve_columns(list(types)).get("BillingPeriodStart")
        if column is None or not str(types[column]).startswith("TIMESTAMP"):
            return None  # text to parse: only the rows can tell
        return footer_months(path, column)

    # -- Connector ---------------------------------------------------------
    def periods(self, since: date, until: date) -> list[Period]:
        files = self.files()
        if not files:
            raise FatalConnectorError(
                f"source {self.source_id}: no files match {self.cfg.path!r}"
            )
        labels: set[str] = set()
        with self._connect() as con:
            for path in files:
                labels |= self._file_periods(con, path)
        found = sorted(Period.parse(label) for label in labels)
        chosen = [p for p in found if p.end > since and p.start <= until]
        if not chosen:
            held = "; ".join(
                f"{path.name}: {', '.join(sorted(self._periods[path])) or 'no rows'}"
                for path in files)
            span = "" if since == date.min else f" {since}..{until}"
            raise DataContractError(
                f"source {self.source_id}: no rows in the requested range{span}: "
                f"{len(files)} file(s) read, their billing periods: {held}")
        return chosen

    def extract(self, period: Period) -> Extract:
        with self._connect() as con:
            files = [p for p in self.files() if period.label in self._file_periods(con, p)]
        digest = hashlib.sha256()
        for path in files:
            st = path.stat()
            digest.update(f"{path}\x1f{st.st_size}\x1f{st.st_mtime_ns}\n".encode())
        rounding = Rounding()
        return Extract(
            fingerprint=digest.hexdigest()[:32],
            sql_parts=lambda: self._parts(files, period, rounding),
            notes={"files": str(len(files))},
            rounding=rounding,
        )

    def _checked(self, con: duckdb.DuckDBPyConnection, path: Path, mapped: str
                 ) -> tuple[int, Decimal]:
        """Check ``path`` parses once per run; (values rounded, amount lost)."""
        if path not in self._rounded:
            self._check_parse(con, path, mapped)
            self._rounded[path] = self._rounding(con, path)
        return self._rounded[path]

    def _parts(self, files: list[Path], period: Period, rounding: Rounding) -> list[SqlPart]:
        """One query per file, after checking every value of the file parses."""
        parts = []
        with self._connect() as con:
            for path in files:
                try:
                    mapped = self._mapped(con, path)
                    rounding.add(*self._checked(con, path, mapped))
                    present = set(_columns(con, mapped))
                except duckdb.Error as err:
                    raise DataContractError(
                        f"source {self.source_id}: {path}: {duck.error_line(err)}") from None
                canon = ", ".join(f'"{c.name}"' for c in SOURCE_COLUMNS if c.name in present)
                start, end = (literal(t.isoformat()) for t in (period.start_ts, period.end_ts))
                parts.append(SqlPart(
                    origin=str(path),
                    lines=_parquet_rows(path) if self._format(path) == "parquet" else None,
                    sql=f"SELECT _line, {canon} FROM ({mapped}) WHERE BillingPeriodStart >= "
                    f"TIMESTAMPTZ {start} AND BillingPeriodStart < TIMESTAMPTZ {end}",
                ))
        return parts

    def _check_parse(self, con: duckdb.DuckDBPyConnection, path: Path, mapped: str) -> None:
        """Name the first value that did not parse (file, line, column, value)."""
        cols = _columns(con, mapped)
        checks = [
            f'("_own_{c}" IS NULL AND "_raw_{c}" IS NOT NULL AND '
            f"trim(CAST(\"_raw_{c}\" AS VARCHAR)) NOT IN ('NULL', ''))"
            for c in cols if not c.startswith("_") and f"_raw_{c}" in cols
        ]
        if not checks:
            return
        hits = con.execute(
            f"SELECT * FROM ({mapped}) WHERE {' OR '.join(checks)} ORDER BY _line LIMIT 1"
        ).fetchall()
        if not hits:
            return
        flagged = hits[0]
        row = dict(zip(cols, flagged, strict=True))
        for c in cols:
            raw = row.get(f"_raw_{c}")
            own = row.get(f"_own_{c}")
            if not c.startswith("_") and own is None and raw is not None and (
                    raw.strip() not in ("", "NULL")):
                raise DataContractError(
                    f"source {self.source_id}: {path}, row {row['_line']}, column {c}: "
                    f"{self._problem(c, raw)}"
                )

    def _problem(self, column: str, raw: str) -> str:
        """Why ``raw`` is refused in ``column``, and how to accept a known layout."""
        sql = BY_NAME[column].sql
        said = f"cannot parse {_shown(raw)}"
        if sql == "TIMESTAMPTZ":
            return said + (
                ": does not match datetime_format" if self._layout.datetime_format
                else ": not an ISO 8601 date-time (a spreadsheet layout needs "
                "datetime_format in the source)")
        if sql == MONEY_SQL:
            return said + ": not a plain decimal" + (
                PARSE_HINTS.get(column, "") if self._layout != Layout() else
                " (a spreadsheet layout needs decimal_separator/thousands_separator/"
                "currency_symbol in the source)")
        return said + PARSE_HINTS.get(column, "")

    def _rounding(self, con: duckdb.DuckDBPyConnection, path: Path) -> tuple[int, Decimal]:
        """Money values of ``path`` with digits beyond 12 decimals, and what rounding lost."""
        scan = self._scan(con, path)
        types = self._file_types(con, path)
        found = resolve_columns(list(types))
        lost = []
        for col in SOURCE_COLUMNS:
            if col.sql == MONEY_SQL and col.name in found:
                source = found[col.name]
                if _exact_in_lake(str(types[source])):
                    continue  # an integer or <= 12 decimals: nothing to round, no scan
                text = money_text(f"trim(CAST({ident(source)} AS VARCHAR))", self._layout)
                lost.append(f"abs(TRY_CAST({text} AS DECIMAL(38,24)) - "
                            f"TRY_CAST({text} AS DECIMAL(38,12)))")
        if not lost:
            return 0, Decimal(0)
        counted = " + ".join(f"count(*) FILTER ({e} <> 0)" for e in lost)
        summed = " + ".join(f"coalesce(sum({e}), 0)" for e in lost)
        n, amount = con.execute(f"SELECT {counted}, {summed} FROM {scan}").fetchall()[0]
        return int(n or 0), Decimal(amount or 0)



def footer_months(path: Path, column: str) -> set[str] | None:
    """The UTC months (``YYYY-MM``) of the non-null values of a top-level timestamp
    ``column`` of a Parquet file, from each row group's minimum and maximum; None when
    a row group has no statistics or spans two months."""
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException):
        return None  # the scan names what is wrong with the file
    index = [i for i in range(meta.num_columns) if meta.schema.column(i).path == column]
    if len(index) != 1:
        return None
    months: set[str] = set()
    for g in range(meta.num_row_groups):
        chunk = meta.row_group(g).column(index[0])
        stats = chunk.statistics
        if stats is not None and stats.has_null_count and stats.null_count == chunk.num_values:
            continue  # no value in this row group
        if stats is None or not stats.has_min_max:
            return None
        low, high = (_utc(v) for v in (stats.min, stats.max))
        if low is None or high is None or (low.year, low.month) != (high.year, high.month):
            return None
        months.add(f"{low.year:04d}-{low.month:02d}")
    return months


def _utc(value: object) -> datetime | None:
    """A statistics value as a UTC date-time (a naive one is UTC, as DuckDB reads it)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parquet_rows(path: Path) -> int | None:
    """The rows of a Parquet file, from its footer (None: unreadable, the scan will say)."""
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError, pa.ArrowException):
        return None


def _exact_in_lake(source_type: str) -> bool:
    """Whether every value of a typed money column fits 12 decimals as it is."""
    if source_type.removeprefix("U") in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"):
        return True
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", source_type)
    return m is not None and int(m.group(2)) <= 12


def _shown(raw: str, limit: int = 80) -> str:
    return repr(raw) if len(raw) <= limit else repr(raw[:limit]) + f"... ({len(raw)} characters)"


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]


SPEC = ConnectorSpec(
    type="focus",
    config_model=FocusSource,
    factory=lambda sid, cfg, ctx: FocusConnector(sid, cfg, ctx),  # type: ignore[arg-type]
    provider="focus",
)
