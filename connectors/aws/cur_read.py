"""One CUR data file -> a :class:`SqlPart` the lake writer runs in DuckDB.

The file's format comes from its name, as AWS names it: ``.csv.gz`` (GZIP),
``.csv.zip`` (ZIP, legacy CUR only), ``.parquet`` (``.snappy.parquet``);
anything else is refused with one line. A ZIP member is streamed to a
temporary file first (DuckDB reads gzip, not zip), so memory stays flat.

The part's query checks, as the lake writer streams it (one scan), that every
decimal and time the mapping reads parses and has at most 12 decimals (the
lake's scale). A row that fails stops the stream; then one more scan names
file, row, column and value, or counts the values with digits beyond 12
decimals: they are rounded half away from zero, never silently (``loads``
records how many and by how much), and the part streams again.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import duckdb

from rebill import duck
from rebill.connectors.aws.cur_mapping import (
    MONEY_INPUTS,
    TIME_INPUTS,
    TYPED,
    by_cur2_name,
    mapping_sql,
    source_select,
)
from rebill.connectors.base import STAGED_ROWS, Rounding, SqlPart, Staged
from rebill.errors import DataContractError
from rebill.sql import ident, literal

FORMATS = ((".csv.gz", "csv"), (".gz", "csv"), (".csv.zip", "zip"), (".zip", "zip"),
           (".parquet", "parquet"), (".csv", "csv"))


def file_format(key: str, where: str) -> str:
    """csv | zip | parquet, from the object key; one clear line for anything else."""
    lowered = key.lower()
    for suffix, fmt in FORMATS:
        if lowered.endswith(suffix):
            return fmt
    raise DataContractError(
        f"{where}: not a CUR data file this reader knows (expected .csv.gz, .csv.zip "
        "or .parquet, as AWS names GZIP, ZIP and Parquet deliveries)")


def unzip(path: Path, target: Path, where: str) -> Path:
    """The one CSV member of a legacy CUR ZIP, streamed to ``target``."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise DataContractError(
                    f"{where}: a CUR ZIP holds one CSV file, this one holds {len(members)}")
            with archive.open(members[0]) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, OSError) as err:
        target.unlink(missing_ok=True)
        raise DataContractError(f"{where}: cannot read ZIP file: {err}") from None
    return target


CSV_OPTIONS = "all_varchar=true, header=true, compression='auto'"


def scan_sql(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> tuple[str, str]:
    """(DuckDB scan, SQL of the row number as the user counts it in the file)."""
    if fmt == "parquet":
        return (f"read_parquet({literal(str(path))}, file_row_number=true, hive_partitioning=false)",
                "file_row_number + 1")
    # CSV row 1 is the header
    return _sniffed(con, path), "row_number() OVER () + 1"


def _sniffed(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The CSV scan with the dialect and columns DuckDB's sniffer finds spelled out.

    The sniff then runs once per file, not again at every DESCRIBE and query
    of the part (0.2-0.4 s each on a GZIP file). Should the sniff fail, or
    the spelled-out scan not read the same columns, the scan sniffs for itself.
    """
    auto = f"read_csv({literal(str(path))}, {CSV_OPTIONS}, auto_detect=true)"
    try:
        found = con.execute(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, Columns "
            f"FROM sniff_csv({literal(str(path))}, {CSV_OPTIONS})").fetchall()
        if not found:
            return auto
        delim, quote, escape, new_line, comment, skip, columns = found[0]
        names = [str(c["name"]) for c in columns]
        spelled = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
        dialect = ", ".join(f"{key}={literal('' if value == '(empty)' else str(value))}"
                            for key, value in (("delim", delim), ("quote", quote),
                                               ("escape", escape), ("new_line", new_line),
                                               ("comment", comment)))
        scan = (f"read_csv({literal(str(path))}, {CSV_OPTIONS}, auto_detect=false, {dialect}, "
                f"skip={int(skip)}, columns={{{spelled}}})")
        same = [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
    except (duckdb.Error, KeyError, TypeError, ValueError):
        return auto  # the DESCRIBE that follows names the problem
    return scan if same == names else auto


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


SUSPECT_MARK = "rebill: a CUR value needs a closer look"


def file_part(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, where: str,
              origin: str, rounding: Rounding) -> SqlPart:
    """The query mapping one file to canonical columns, checking its values as it streams.

    A row with a value that may not parse, or may have digits beyond 12
    decimals, stops the stream; then (only then) :func:`_check` reads the file
    once more to name the value, or to count what rounding changes, and the
    part streams again without the check.
    """
    scan, line = scan_sql(con, path, fmt)
    try:
        columns = [(str(r[0]), str(r[1]))
                   for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
    except duckdb.Error as err:
        raise DataContractError(f"{where}: cannot read file: {_first_line(err)}") from None
    src = source_select(columns, scan, line)
    # a CSV is read in order on one thread: staged, that thread only reads it
    staged = _staged_src(columns, scan, line) if fmt != "parquet" else None
    suspect = _suspect(columns)

    def closer_look() -> SqlPart:
        with duck.connect() as again:
            _check(again, src, columns, where, rounding)
        return _part(origin, src, staged)

    if suspect is None:
        return _part(origin, src, staged)
    return replace(_part(origin, src, staged, suspect), on_error=closer_look)


def _part(origin: str, src: str, staged: Staged | None, suspect: str | None = None) -> SqlPart:
    """The part mapping ``src``; ``staged`` holds the file's rows and ``src`` over them."""
    line = "_line"
    if suspect is not None:  # the row's values checked as it streams
        line = f"CASE WHEN {suspect} THEN error({literal(SUSPECT_MARK)}) ELSE _line END"

    def query(source: str) -> str:
        return f"WITH src AS ({source}), {mapping_sql(line)}"

    # One thread: a parallel scan streams row groups / CSV chunks in any order,
    # and the lake's bytes and row ids must not depend on it. An ORDER BY
    # would do the same with a sort: 2.5 GB at 3M rows instead of 0.5 GB.
    return SqlPart(origin=origin, sql=query(src), threads=1,
                   staged=None if staged is None else Staged(staged.rows, query(staged.sql)))


def _staged_src(columns: list[tuple[str, str]], scan: str, line: str) -> Staged:
    """The file's rows as they are (just the columns :func:`source_select` reads), and
    ``src`` over them."""
    src = source_select(columns, STAGED_ROWS, "_line")
    used = [ident(name) for name, _ in columns if ident(name) in src]
    return Staged(f"SELECT {', '.join([*used, f'{line} AS _line'])} FROM {scan}", src)


def _suspect(columns: list[tuple[str, str]]) -> str | None:
    """SQL flagging a row :func:`_check` must look at: a money or time text that does not
    parse, or an amount that may have more than 12 decimals (cheap text test). It reads
    the mapping's parsed values (:data:`TYPED`): each value is parsed once."""
    present = by_cur2_name(columns)
    flags = [f"({c} <> '' AND ({TYPED[c]} IS NULL "
             f"OR (instr({c}, '.') > 0 AND strlen({c}) - instr({c}, '.') > 12) "
             f"OR contains({c}, 'e') OR contains({c}, 'E')))"  # lower() copies every value
             for c in MONEY_INPUTS if c in present]
    flags += [f"({c} <> '' AND {TYPED[c]} IS NULL)" for c in TIME_INPUTS if c in present]
    return " OR ".join(flags) or None


def _check(con: duckdb.DuckDBPyConnection, src: str, columns: list[tuple[str, str]],
           where: str, rounding: Rounding) -> None:
    """Refuse the first value that does not parse; count values rounded to 12 decimals."""
    present = by_cur2_name(columns)
    money = [c for c in MONEY_INPUTS if c in present]
    times = [c for c in TIME_INPUTS if c in present]
    bad = [f"({c} IS NOT NULL AND trim({c}) <> '' AND TRY_CAST({c} AS DECIMAL(38,12)) IS NULL)"
           for c in money]
    bad += [f"({c} IS NOT NULL AND trim({c}) <> '' AND TRY_CAST({c} AS TIMESTAMPTZ) IS NULL)"
            for c in times]
    lost = [f"abs(TRY_CAST({c} AS DECIMAL(38,24)) - TRY_CAST({c} AS DECIMAL(38,12)))"
            for c in money]
    if not bad:
        return
    con.execute("SET threads=1")  # row numbers in the file's order
    counted = " + ".join(f"count(*) FILTER ({e} <> 0)" for e in lost) or "0"
    summed = " + ".join(f"coalesce(sum({e}), 0)" for e in lost) or "0"
    first_bad = f"min(_line) FILTER ({' OR '.join(bad)})"
    try:
        n, amount, bad_line = con.execute(
            f"SELECT {counted}, {summed}, {first_bad} FROM ({src})").fetchall()[0]
    except duckdb.Error as err:
        raise DataContractError(f"{where}: cannot read file: {_first_line(err)}") from None
    if bad_line is not None:
        row = con.execute(
            f"SELECT {', '.join(money + times)} FROM ({src}) WHERE _line = {int(bad_line)}"
        ).fetchall()[0]
        for name, value in zip(money + times, row, strict=True):
            if value is None or not str(value).strip():
                continue
            kind = "DECIMAL(38,12)" if name in money else "TIMESTAMPTZ"
            ok = con.execute(f"SELECT TRY_CAST(? AS {kind}) IS NOT NULL", [value]).fetchall()[0][0]
            if not ok:
                raise DataContractError(
                    f"{where}, row {bad_line}, column {present[name][0]}: "
                    f"cannot parse {value!r} as a {'decimal' if name in money else 'time'}")
    rounding.add(int(n or 0), amount)
