from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pytest

from rebill.normalize import row_ids as ids

# The id as DuckDB wrote it before the text was laid out in Python (lines < 10**9).
OLD_SQL = "lpad(to_hex(h), 16, '0') || '-{part}-' || lpad(CAST(line AS VARCHAR), 9, '0')"


def expected(hashes: list[int], lines: list[int], part: int) -> list[str]:
    return [f"{h:016X}-{part}-{n:09d}" for h, n in zip(hashes, lines, strict=True)]


def test_ids_are_the_sql_ids_byte_for_byte() -> None:
    rng = random.Random(7)
    hashes = [0, 1, 2**64 - 1, 2**63, *(rng.getrandbits(64) for _ in range(5000))]
    lines = [1, 999_999_999, 10, 123_456_789, *(rng.randrange(1, 10**9) for _ in range(5000))]
    table = pa.table({"h": pa.array(hashes, pa.uint64()), "line": pa.array(lines, pa.int64())})
    con = duckdb.connect()
    con.register("t", table)
    for part in (0, 7, 12):
        old = con.execute(f"SELECT {OLD_SQL.format(part=part)} FROM t").fetchall()
        got = ids.row_ids(table.column("h"), table.column("line"), part)
        assert got.type == pa.string()
        assert got.to_pylist() == [r[0] for r in old] == expected(hashes, lines, part)


def test_ids_of_many_slices_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids, "_SLICE", 100)
    hashes = list(range(0, 2**64 - 1, 2**64 // 1050))
    lines = list(range(1, len(hashes) + 1))
    h = pa.chunked_array([pa.array(hashes[:333], pa.uint64()), pa.array(hashes[333:], pa.uint64())])
    got = ids.row_ids(h, pa.array(lines, pa.int64()), 3)
    assert got.to_pylist() == expected(hashes, lines, 3)


def test_a_line_past_nine_digits_gets_every_digit() -> None:
    """The SQL's lpad cut such a line to 9 digits (two rows could share an id)."""
    got = ids.row_ids(pa.array([5, 6], pa.uint64()), pa.array([1_000_000_000, 1_000_000_001],
                                                               pa.int64()), 0)
    assert got.to_pylist() == ["0000000000000005-0-1000000000", "0000000000000006-0-1000000001"]


def test_empty_and_null() -> None:
    assert ids.row_ids(pa.array([], pa.uint64()), pa.array([], pa.int64()), 0).to_pylist() == []
    with pytest.raises(ValueError, match="hash and a line"):
        ids.row_ids(pa.array([1, None], pa.uint64()), pa.array([1, 2], pa.int64()), 0)
