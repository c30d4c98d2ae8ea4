from __future__ import annotations

import csv
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.errors import DataContractError
from rebill.normalize.catalog import connect, ensure_layout
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv"


def sample_sums() -> dict[str, Decimal]:
    """The sample's own totals, computed with Python's csv and Decimal."""
    sums: dict[str, Decimal] = {}
    with SAMPLE.open(newline="") as fh:
        for rec in csv.DictReader(fh):
            sums[rec["ProviderName"]] = sums.get(rec["ProviderName"], Decimal(0)) + Decimal(
                rec["BilledCost"])
    return sums


def connector(tmp_path: Path, pattern: str = "exports/*.csv"):
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2024, 10, 3))
    return build("files", {"type": "focus", "path": pattern}, ctx)


def load_all(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    ensure_layout(home)
    conn = connector(tmp_path)
    for p in conn.periods(date.min, date.max):
        load_partition(home, conn, p)
    return home


@pytest.mark.slow
def test_sample_totals_exact_per_provider(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLE, tmp_path / "exports" / "s.csv")
    home = load_all(tmp_path)
    con = connect(home)
    got = dict(con.execute("SELECT ProviderName, sum(BilledCost) FROM costs GROUP BY 1").fetchall())
    assert got == sample_sums()
    assert con.execute("SELECT count(*) FROM costs").fetchall() == [(1000,)]


@pytest.mark.slow
def test_sample_quirks(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLE, tmp_path / "exports" / "s.csv")
    con = connect(load_all(tmp_path))
    # wrong casing fixed, empty strings and NULL literals become null
    assert con.execute("SELECT DISTINCT ChargeFrequency FROM costs WHERE ProviderName='Oracle'"
                       ).fetchall() == [("Usage-Based",)]
    assert con.execute("SELECT count(*) FROM costs WHERE PricingCategory = '' OR "
                       "ChargeClass = 'NULL'").fetchall() == [(0,)]
    # datetimes without T/Z are UTC; Tags are a map
    first = con.execute("SELECT min(ChargePeriodStart) FROM costs").fetchall()[0][0]
    assert first.tzinfo is not None and first.utcoffset().total_seconds() == 0
    assert con.execute("SELECT count(*) FROM costs WHERE Tags['environment'] = 'dev'"
                       ).fetchall()[0][0] > 0
    # OCI's null ContractedCost falls back to ListCost (FOCUS: no negotiated rate)
    assert con.execute("SELECT count(*) FROM costs WHERE ContractedCost IS NULL").fetchall() == [(0,)]


def test_periods_from_files(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLE, tmp_path / "exports" / "s.csv")
    assert Period(date(2024, 9, 1)) in connector(tmp_path).periods(date.min, date.max)


def test_malformed_value_names_file_row_column(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    lines = SAMPLE.read_text().splitlines()
    header = lines[0].split(",")
    idx = header.index('"BilledCost"')
    cells = lines[5].split(",")
    cells[idx] = '"12,x"'.replace(",", "")  # not a number
    lines[5] = ",".join(cells)
    bad = tmp_path / "exports" / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    home = tmp_path / "home"
    ensure_layout(home)
    conn = connector(tmp_path)
    with pytest.raises(DataContractError) as err:
        load_partition(home, conn, Period(date(2024, 9, 1)))
    msg = str(err.value)
    assert str(bad) in msg and "row 6" in msg and "column BilledCost" in msg and "12x" in msg


def test_missing_required_column(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    with SAMPLE.open(newline="") as fh:
        rows = list(csv.reader(fh))
    drop = rows[0].index("ServiceName")
    with (tmp_path / "exports" / "x.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([r[:drop] + r[drop + 1:] for r in rows])
    with pytest.raises(DataContractError, match="required FOCUS column ServiceName missing"):
        connector(tmp_path).periods(date.min, date.max)


def test_parquet_files_read(tmp_path: Path) -> None:
    import duckdb

    (tmp_path / "exports").mkdir()
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{SAMPLE}', all_varchar=true)) TO "
                   f"'{tmp_path / 'exports' / 's.parquet'}' (FORMAT parquet)")
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2024, 10, 3))
    conn = build("files", {"type": "focus", "path": "exports/*.parquet"}, ctx)
    home = tmp_path / "home"
    ensure_layout(home)
    load_partition(home, conn, Period(date(2024, 9, 1)))
    total = connect(home).execute("SELECT sum(BilledCost) FROM costs").fetchall()[0][0]
    assert total == sum(sample_sums().values()) - Decimal("0.24")  # the one October row

    # a column the file lacks is NULL throughout and stored uncompressed; the rest zstd
    import pyarrow.parquet as pq

    from rebill.layout import partition_file

    meta = pq.ParquetFile(partition_file(home, "files", "2024-09")).metadata
    held = {c.lower() for c in duckdb.sql(f"DESCRIBE SELECT * FROM read_csv('{SAMPLE}')")
              .fetchnumpy()["column_name"]}
    chunks = [meta.row_group(0).column(i) for i in range(meta.num_columns)]
    plain = {c.path_in_schema.split(".")[0] for c in chunks if c.compression == "UNCOMPRESSED"}
    assert plain and all(name.lower() not in held for name in plain)
    assert all(c.statistics is None or c.statistics.null_count == c.num_values
               for c in chunks if c.compression == "UNCOMPRESSED")
    assert {c.compression for c in chunks if c.path_in_schema.split(".")[0] not in plain} == {
        "ZSTD"}
    assert "x_SplitCost" in plain and "BilledCost" not in plain


def test_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A no-op nightly lists periods from the recorded facts: no file is read; a changed
    file, a changed setting or an unreadable record is read (and checked) again."""
    from rebill.connectors.focus.connector import FocusConnector

    (tmp_path / "exports").mkdir()
    shutil.copy(SAMPLE, tmp_path / "exports" / "s.csv")
    september = Period(date(2024, 9, 1))
    assert september in connector(tmp_path).periods(date.min, date.max)
    reads: list[Path] = []
    real = FocusConnector._check_parse

    def spy(self: FocusConnector, con: object, path: Path, mapped: str) -> None:
        reads.append(path)
        real(self, con, path, mapped)  # type: ignore[arg-type]

    monkeypatch.setattr(FocusConnector, "_check_parse", spy)
    home = tmp_path / "home"
    ensure_layout(home)
    first = load_partition(home, connector(tmp_path), september)
    assert september in connector(tmp_path).periods(date.min, date.max)
    assert reads == []
    assert load_partition(home, connector(tmp_path), september).status == "unchanged"
    assert reads == []
    # a changed file: read and checked again
    fewer = SAMPLE.read_text().splitlines()[:-1]
    (tmp_path / "exports" / "s.csv").write_text("\n".join(fewer) + "\n")
    assert september in connector(tmp_path).periods(date.min, date.max)
    assert reads == [tmp_path / "exports" / "s.csv"]
    # another setting of the source: read again
    ctx = Context(home=home, base_dir=tmp_path, today=date(2024, 10, 3))
    build("files", {"type": "focus", "path": "exports/*.csv", "format": "csv"}, ctx).periods(
        date.min, date.max)
    assert len(reads) == 2
    # an unreadable record is no error: the files are read again
    (home / "state" / "focus-files.json").write_text("{not json")
    assert september in connector(tmp_path).periods(date.min, date.max)
    assert len(reads) == 3
    assert first.rows > 0


def test_parquet_read_in_parallel_chunks_gives_the_streamed_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A Parquet file larger than a chunk is read by _line ranges on every thread; the
    partition is byte for byte the single-threaded stream's, and a chunk out of order
    (never seen) falls back to that stream with a warning."""
    import duckdb

    from rebill.layout import partition_file
    from rebill.normalize import lake

    (tmp_path / "exports").mkdir()
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{SAMPLE}', all_varchar=true)) TO "
                   f"'{tmp_path / 'exports' / 's.parquet'}' (FORMAT parquet, ROW_GROUP_SIZE 100)")
    september = Period(date(2024, 9, 1))

    def load(name: str) -> bytes:
        ctx = Context(home=tmp_path / name, base_dir=tmp_path, today=date(2024, 10, 3))
        conn = build("files", {"type": "focus", "path": "exports/*.parquet"}, ctx)
        ensure_layout(tmp_path / name)
        load_partition(tmp_path / name, conn, september)
        return partition_file(tmp_path / name, "files", september.label).read_bytes()

    streamed = load("streamed")  # 1,000 rows: one part, below a chunk
    monkeypatch.setattr(lake, "CHUNK_ROWS", 128)
    chunks: list[int] = []
    real_select = lake._select

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        sel = real_select(*args, **kwargs)
        chunks.append(len(sel.chunks))
        return sel

    monkeypatch.setattr(lake, "_select", counting)
    assert load("chunked") == streamed
    assert chunks == [8]
    monkeypatch.setattr(lake, "CHUNK_ROWS", 160)  # 40 rows left: they join the chunk before
    assert load("merged") == streamed
    assert chunks == [8, 6]
    monkeypatch.setattr(lake, "_in_file_order", lambda table: False)
    assert load("fallback") == streamed
    assert "streamed on one instead" in caplog.text
    monkeypatch.undo()

    # a bad row in the fifth chunk: one line naming it, nothing stored
    monkeypatch.setattr(lake, "CHUNK_ROWS", 128)
    good, bad = tmp_path / "exports" / "s.parquet", tmp_path / "bad.parquet"
    duckdb.execute(  # file_row_number 599 is row 600
        f"COPY (SELECT * EXCLUDE (file_row_number) REPLACE (CASE WHEN file_row_number = 599 "
        f"THEN 'XYZ' ELSE BillingCurrency END AS BillingCurrency) "
        f"FROM read_parquet('{good}', file_row_number = true)) TO '{bad}' "
        f"(FORMAT parquet, ROW_GROUP_SIZE 100)")
    bad.replace(good)
    with pytest.raises(DataContractError, match=r"s\.parquet, row 600, column BillingCurrency"):
        load("bad")
    assert not partition_file(tmp_path / "bad", "files", september.label).exists()


def test_typed_parquet_periods_come_from_the_footer(tmp_path: Path) -> None:
    """A typed Parquet file's billing months come from its row groups' statistics (no
    row read); a row group spanning two months, or no statistics, reads the rows."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rebill.connectors.focus.connector import footer_months

    (tmp_path / "exports").mkdir()
    typed = tmp_path / "exports" / "typed.parquet"
    duckdb.execute(  # September's rows, then October's, 100 rows per row group
        f"COPY (SELECT * REPLACE (CAST(BillingPeriodStart AS TIMESTAMPTZ) AS BillingPeriodStart, "
        f"CAST(BillingPeriodEnd AS TIMESTAMPTZ) AS BillingPeriodEnd) "
        f"FROM read_csv('{SAMPLE}', all_varchar=true) ORDER BY BillingPeriodStart) "
        f"TO '{typed}' (FORMAT parquet, ROW_GROUP_SIZE 100)")
    months = footer_months(typed, "BillingPeriodStart")
    conn = connector(tmp_path, "exports/*.parquet")
    listed = {p.label for p in conn.periods(date.min, date.max)}
    assert listed == {"2024-09", "2024-10"}
    assert months is None  # the last row group holds September's last rows and October's
    spans = tmp_path / "spans.parquet"
    at = pa.array  # naive (read as UTC), aware, and a row group of nulls only
    pq.write_table(pa.table({"BillingPeriodStart": at(
        [None, None, datetime(2024, 9, 1), datetime(2024, 9, 1)], pa.timestamp("us"))}),
        spans, row_group_size=2)
    assert footer_months(spans, "BillingPeriodStart") == {"2024-09"}
    pq.write_table(pa.table({"BillingPeriodStart": at(
        [datetime(2024, 8, 31, 23, tzinfo=UTC), datetime(2024, 10, 1, tzinfo=UTC)],
        pa.timestamp("us", "UTC"))}), spans, row_group_size=1)
    assert footer_months(spans, "BillingPeriodStart") == {"2024-08", "2024-10"}
    pq.write_table(pa.table({"BillingPeriodStart": at([datetime(2024, 9, 1)],
                                                      pa.timestamp("us"))}),
                   spans, write_statistics=False)
    assert footer_months(spans, "BillingPeriodStart") is None
    assert footer_months(spans, "Other") is None


def test_text_is_trimmed_and_nulled_as_trim_does() -> None:
    """The column-as-text expression skips ``trim`` for most texts; it gives what
    trimming every text gives, Unicode spaces and null spellings included."""
    import itertools

    import duckdb

    from rebill.connectors.focus.mapping import _raw

    ends = ["", " ", "  ", "\u00a0", "\u2003", "\u3000", "\u1680", "\t", "\n", "é", "\u200b"]
    cores = ["", "NULL", "null", "a", "a b", "é", "NULL ", "\u00a0NULL"]
    texts = [None, *{a + c + b for a, c, b in itertools.product(ends, cores, ends)}]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in texts])
    rows = con.execute(
        f"SELECT x, {_raw('x')}, NULLIF(NULLIF(trim(x), 'NULL'), '') FROM t").fetchall()
    assert len(rows) == len(texts) > 500
    assert [r for r in rows if r[1] != r[2] and not (r[1] is None and r[2] is None)] == []
    assert sum(r[1] is None for r in rows) > 50  # spaces and 'NULL' alone: NULL
