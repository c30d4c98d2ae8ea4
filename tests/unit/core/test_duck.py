"""rebill.duck: DuckDB's errors keep their kind when rows stream through Arrow."""

from __future__ import annotations

import duckdb
import pytest

from rebill import duck


@pytest.mark.parametrize("bad_from", [5, 100_000])  # in the first batch, and far past it
def test_an_error_in_a_streamed_row_is_the_duckdb_error_it_was(bad_from: int) -> None:
    con = duck.connect()
    con.execute("SET threads=1")
    sql = (f"SELECT CASE WHEN i > {bad_from} THEN error('row ' || i || ' is bad') ELSE i END "
           "AS i FROM range(200000) t(i)")
    seen = 0
    with pytest.raises(duckdb.InvalidInputException, match=rf"row {bad_from + 1} is bad"):
        for batch in duck.arrow_batches(con.sql(sql), 1000):
            seen += batch.num_rows
    assert seen <= bad_from + 1


def test_a_conversion_error_past_the_first_batch_is_a_conversion_error() -> None:
    con = duck.connect()
    con.execute("SET threads=1")
    sql = ("SELECT CAST(CASE WHEN i = 150000 THEN 'x' ELSE '1' END AS INTEGER) AS v "
           "FROM range(200000) t(i)")
    with pytest.raises(duckdb.ConversionException, match="Could not convert string 'x'"):
        sum(b.num_rows for b in duck.arrow_batches(con.sql(sql), 1000))


def test_every_row_streams_in_order() -> None:
    con = duck.connect()
    con.execute("SET threads=1")
    values = [v for b in duck.arrow_batches(con.sql("SELECT i FROM range(10000) t(i)"), 777)
              for v in b.column(0).to_pylist()]
    assert values == list(range(10000))


def test_arrow_memory_comes_from_jemalloc_where_pyarrow_has_it() -> None:
    import pyarrow as pa

    duck.arrow_jemalloc()
    duck.arrow_jemalloc()  # once is enough; again is harmless
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow has no jemalloc")
    assert pa.default_memory_pool().backend_name == "jemalloc"
