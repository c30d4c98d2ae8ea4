"""The conformance suite every registered connector passes (STYLE.md)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rebill import duck
from rebill.connectors.registry import REGISTRY
from rebill.layout import partition_file
from rebill.normalize.catalog import ensure_layout
from rebill.normalize.conform import conform, conformed_sql
from rebill.normalize.lake import load_partition
from rebill.schema import ARROW_SCHEMA, MONEY_COLUMNS
from tests.contract.case import ContractCase

MAX_BATCHES = 10_000  # a connector that paginates forever trips this


def _provider(source_type: str) -> Callable[[Path], AbstractContextManager[ContractCase]]:
    try:
        module = importlib.import_module(f"tests.contract.providers.{source_type}")
    except ModuleNotFoundError:
        pytest.fail(f"connector {source_type!r} has no tests/contract/providers/{source_type}.py")
    return module.case  # type: ignore[no-any-return]


@pytest.fixture(params=sorted(REGISTRY))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContractCase]:
    with _provider(request.param)(tmp_path) as c:
        yield c


def _type(t: pa.DataType) -> str:
    if pa.types.is_map(t):  # the entries' field name is the writer's choice
        return f"map<{t.key_type}, {t.item_type}>"
    return str(t)


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    ensure_layout(home)
    return home


def test_period_is_listed(case: ContractCase) -> None:
    found = case.connector.periods(case.period.start, case.period.end)
    assert case.period in found


def test_batches_conform_without_float_money(case: ContractCase) -> None:
    extract = case.connector.extract(case.period)
    assert extract.fingerprint
    rows = 0
    if extract.sql_parts is not None:  # a file source: its queries, checked by DuckDB
        con = duck.connect()
        for part in extract.sql_parts():
            relation = conformed_sql(con, case.connector.source_id, part.origin, part.sql)
            rows += con.execute(f"SELECT count(*) FROM ({relation})").fetchall()[0][0]
        assert rows >= case.min_rows
        return
    for n, sb in enumerate(extract.batches):
        assert n < MAX_BATCHES, "pagination did not terminate"
        schema = sb.data.schema
        for name in MONEY_COLUMNS:
            if name in schema.names:
                assert not pa.types.is_floating(schema.field(name).type), name
        rows += conform(case.connector.source_id, sb).num_rows
    assert rows >= case.min_rows


def test_lake_partition_matches_schema_exactly(case: ContractCase, tmp_path: Path) -> None:
    home = _home(tmp_path)
    result = load_partition(home, case.connector, case.period)
    assert result.status == "loaded"
    assert result.rows >= case.min_rows
    table = pq.read_table(partition_file(home, case.connector.source_id, case.period.label))
    # names, order and types exactly (Parquet nullability is DuckDB's to infer)
    assert [(f.name, _type(f.type)) for f in table.schema] == [
        (f.name, _type(f.type)) for f in ARROW_SCHEMA]
    assert not any(pa.types.is_floating(f.type) for f in table.schema)
    assert table.num_rows == result.rows
    assert len(set(table.column("x_row_id").to_pylist())) == table.num_rows


def test_same_fingerprint_is_a_noop(case: ContractCase, tmp_path: Path) -> None:
    home = _home(tmp_path)
    first = load_partition(home, case.connector, case.period)
    path = partition_file(home, case.connector.source_id, case.period.label)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    again = load_partition(home, case.connector, case.period)
    assert again.status == "unchanged"
    assert again.fingerprint == first.fingerprint
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_forced_reload_gives_identical_bytes(case: ContractCase, tmp_path: Path) -> None:
    home = _home(tmp_path)
    load_partition(home, case.connector, case.period)
    path = partition_file(home, case.connector.source_id, case.period.label)
    before = path.read_bytes()
    load_partition(home, case.connector, case.period, force=True)
    assert path.read_bytes() == before
