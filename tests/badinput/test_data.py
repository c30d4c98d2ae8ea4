"""Bad data files: each fails only its own source (and period) with one line naming
the file (row and column where known); the healthy source still loads, and what
the bad source loaded earlier stays byte-identical."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.badinput.conftest import FOCUS_SAMPLE, one_line, rebill, stored

with FOCUS_SAMPLE.open(newline="") as _fh:
    _reader = csv.DictReader(_fh)
    HEADER = list(_reader.fieldnames or [])
    ROWS = [next(_reader) for _ in range(3)]


def focus_csv(rows: list[dict[str, str]] | None = None, header: list[str] | None = None) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, header or HEADER, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows if rows is not None else ROWS)
    return buf.getvalue().encode()


def mutated(**cells: str) -> bytes:
    """The 3-row file with row 3 (the second data row) changed."""
    rows = [dict(r) for r in ROWS]
    rows[1].update(cells)
    return focus_csv(rows)


def parquet(select: str) -> Callable[[Path], None]:
    """A Parquet file made by DuckDB from the 3-row CSV with ``select`` over it."""

    def make(path: Path) -> None:
        src = path.with_suffix(".src.csv")
        src.write_bytes(focus_csv())
        con = duckdb.connect()
        con.execute(f"CREATE VIEW f AS SELECT * FROM read_csv('{src}', all_varchar=true, "
                    "nullstr='NULL')")
        con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
        src.unlink()

    return make


def raw(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


GOOD_PARQUET = parquet("SELECT * FROM f")


def truncated(path: Path) -> None:
    GOOD_PARQUET(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def ragged(path: Path) -> None:
    text = focus_csv().decode().splitlines()
    text[2] += ",extra"
    path.write_text("\n".join(text) + "\n")


def bad_utf8(path: Path) -> None:
    path.write_bytes(mutated(ChargeDescription="caf\udce9".encode("utf-8", "surrogateescape")
                             .decode("latin-1")).replace(b"caf\xc3\xa9", b"caf\xe9"))


def latin1(path: Path) -> None:
    path.write_bytes(mutated(ChargeDescription="café").replace("café".encode(), b"caf\xe9"))


def money_text(column: str) -> Callable[[Path], None]:
    return raw(mutated(**{column: "12,50 EUR"}))


# (case, file name, maker, what the one line must say after "source bad: <file>")
CASES: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("parquet-zero-bytes", "x.parquet", raw(b""), "too small to be a Parquet file"),
    ("parquet-garbage", "x.parquet", raw(b"PAR1 this is not parquet at all " * 20), "x.parquet"),
    ("parquet-truncated", "x.parquet", truncated, "x.parquet"),
    ("csv-binary-garbage", "x.csv", raw(bytes(range(256)) * 8), "x.csv"),
    ("csv-empty", "x.csv", raw(b""), "x.csv"),
    ("csv-header-only-unknown", "x.csv", raw(b"foo,bar\n1,2\n"), "required FOCUS column"),
    ("csv-ragged-row", "x.csv", ragged, "row 3: 45 fields, the header has 44"),
    ("csv-not-utf8", "x.csv", latin1, "x.csv"),
    ("csv-bad-utf8-2", "x.csv", bad_utf8, "x.csv"),
    ("tags-not-json", "x.csv", raw(mutated(Tags="{not json")),
     "row 3, column Tags: cannot parse '{not json' (Tags must be a JSON object)"),
    ("tags-json-array", "x.csv", raw(mutated(Tags='["a", "b"]')),
     "row 3, column Tags: cannot parse"),
    ("tags-json-string", "x.csv", raw(mutated(Tags='"team=red"')), "row 3, column Tags"),
    ("tags-3mb-line", "x.csv", raw(mutated(Tags='{"k": "' + "v" * 3_000_000 + '"}')),
     "Maximum line size"),
    ("tags-oversized", "x.csv", raw(mutated(Tags='{"k": "' + "v" * 70_000 + '"}')),
     "row 3, column Tags: value"),
    ("description-oversized", "x.csv", raw(mutated(ChargeDescription="d" * 70_000)),
     "row 3, column ChargeDescription: value"),
    ("billed-not-number", "x.csv", money_text("BilledCost"), "row 3, column BilledCost: cannot parse"),
    ("effective-not-number", "x.csv", money_text("EffectiveCost"),
     "row 3, column EffectiveCost: cannot parse '12,50 EUR'"),
    ("list-not-number", "x.csv", money_text("ListCost"), "row 3, column ListCost: cannot parse"),
    ("contracted-not-number", "x.csv", money_text("ContractedCost"),
     "row 3, column ContractedCost: cannot parse"),
    ("money-nan-text", "x.csv", raw(mutated(BilledCost="NaN")), "row 3, column BilledCost"),
    ("money-inf-text", "x.csv", raw(mutated(EffectiveCost="inf")), "row 3, column EffectiveCost"),
    ("money-1e30-text", "x.csv", raw(mutated(BilledCost="1e30")), "row 3, column BilledCost"),
    ("money-nan-parquet", "x.parquet", parquet(
        "SELECT * REPLACE (CASE WHEN BilledCost = '0.00001605990' THEN 'nan'::DOUBLE "
        "ELSE BilledCost::DOUBLE END AS BilledCost) FROM f"),
     "row 2, column BilledCost: cannot parse 'nan'"),
    ("money-inf-parquet", "x.parquet", parquet(
        "SELECT * REPLACE ('inf'::DOUBLE AS EffectiveCost) FROM f"),
     "row 1, column EffectiveCost: cannot parse 'inf'"),
    ("money-1e30-parquet", "x.parquet", parquet(
        "SELECT * REPLACE (1e30::DOUBLE AS ListCost) FROM f"), "row 1, column ListCost"),
    ("period-end-a-year-later", "x.csv", raw(mutated(BillingPeriodEnd="2025-09-01 00:00:00")),
     "row 3, column BillingPeriodEnd: value"),
    ("period-end-before-start", "x.csv", raw(mutated(BillingPeriodEnd="2024-08-01 00:00:00")),
     "row 3, column Billing"),
    ("bad-date", "x.csv", raw(mutated(ChargePeriodStart="yesterday")),
     "row 3, column ChargePeriodStart: cannot parse 'yesterday'"),
    ("bad-currency", "x.csv", raw(mutated(BillingCurrency="XXY")),
     "row 3, column BillingCurrency"),
    ("bad-charge-category", "x.csv", raw(mutated(ChargeCategory="Refundz")),
     "row 3, column ChargeCategory"),
    ("missing-billed-cost", "x.csv", raw(mutated(BilledCost="NULL")), "row 3, column BilledCost"),
]


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``good`` and ``bad`` (3 good rows each), both loaded."""
    base = tmp_path_factory.mktemp("two")
    (base / "good").mkdir()
    (base / "bad").mkdir()
    (base / "good" / "g.csv").write_bytes(focus_csv())
    (base / "bad" / "a.csv").write_bytes(focus_csv())
    cfg = base / "rebill.toml"
    cfg.write_text('[rebill]\nhome = "h"\n[sources.good]\ntype = "focus"\npath = "good/*"\n'
                   '[sources.bad]\ntype = "focus"\npath = "bad/*"\n')
    code, out, err = rebill("ingest", "-c", str(cfg), "--engine", "local")
    assert code == 0, out + err
    return base


@pytest.mark.parametrize(("case", "name", "make", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_fails_only_its_source(two_sources: Path, tmp_path: Path, case: str, name: str,
                                        make: Callable[[Path], None], message: str) -> None:
    base = tmp_path / "w"
    shutil.copytree(two_sources, base)
    home = base / "h"
    before = stored(home)
    bad = base / "bad" / name
    make(bad)
    code, out, err = rebill("ingest", "-c", str(base / "rebill.toml"), "--engine", "local")
    assert code == 1, out
    line = one_line(err)
    assert f"source bad: {bad}" in line, line
    assert message in line, line
    assert "good 2024-09: 3 rows loaded" in out, out  # the healthy source still loads
    after = stored(home)
    assert {k: v for k, v in after.items() if "source=bad" in k} == {
        k: v for k, v in before.items() if "source=bad" in k}
