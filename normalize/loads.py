"""The ``loads`` manifest: one row per partition load, kept in ``<home>/state``.

It is a small Parquet file rewritten atomically under a lock, so parallel
source loads never lose each other's rows and an analyst's open catalog never
blocks a run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rebill.atomic import atomic_write, home_lock
from rebill.layout import loads_file
from rebill.schema import MONEY_ARROW, TS_ARROW

LOADS_SCHEMA = pa.schema([
    ("load_id", pa.string()),
    ("source", pa.string()),
    ("period", pa.string()),
    ("fingerprint", pa.string()),
    ("rows", pa.int64()),
    ("billed_cost", MONEY_ARROW),  # total BilledCost (null when several currencies)
    ("currency", pa.string()),  # the currency, or a comma-separated list
    ("started_at", TS_ARROW),
    ("finished_at", TS_ARROW),
    ("status", pa.string()),  # ok | failed
    ("error", pa.string()),
    # source values with digits beyond the lake's 12 decimals (rounded half
    # away from zero), and the total absolute amount the rounding changed
    ("rounded_values", pa.int64()),
    ("rounded_amount", pa.decimal128(38, 24)),
])


@dataclass(frozen=True)
class LoadRecord:
    load_id: str
    source: str
    period: str
    fingerprint: str
    rows: int
    billed_cost: Decimal | None
    currency: str | None
    started_at: datetime
    finished_at: datetime
    status: str
    error: str | None = None
    rounded_values: int = 0
    rounded_amount: Decimal = Decimal(0)


def read_loads(home: Path) -> pa.Table:
    path = loads_file(home)
    if not path.exists():
        return LOADS_SCHEMA.empty_table()
    table = pq.read_table(path)
    for field in LOADS_SCHEMA:  # a loads file written before a column existed
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    return table.select(LOADS_SCHEMA.names).cast(LOADS_SCHEMA)


def write_empty(home: Path) -> None:
    path = loads_file(home)
    if not path.exists():
        with atomic_write(path) as tmp:
            pq.write_table(LOADS_SCHEMA.empty_table(), tmp)


def append_load(home: Path, record: LoadRecord) -> None:
    with home_lock(home, "loads", wait=120):
        current = read_loads(home)
        row = pa.Table.from_pylist([asdict(record)], schema=LOADS_SCHEMA)
        with atomic_write(loads_file(home)) as tmp:
            pq.write_table(pa.concat_tables([current, row]), tmp)


def last_ok_fingerprint(home: Path, source: str, period: str) -> str | None:
    """Fingerprint of the latest successful load of (source, period)."""
    found: str | None = None
    for rec in read_loads(home).to_pylist():
        if rec["source"] == source and rec["period"] == period and rec["status"] == "ok":
            found = rec["fingerprint"]
    return found
