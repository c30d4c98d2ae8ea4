"""Conform one connector batch to the canonical schema and validate it.

Casting is Arrow's (exact for decimals, refused for float money); validation
is one DuckDB query per batch. Any violation raises a
:class:`~rebill.errors.DataContractError` naming source, origin, row and column.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from connectors.base import Period, SourceBatch
from normalize.currencies import ISO_4217
from normalize.schema import ALLOWED, MONEY_SQL, SOURCE_ARROW_SCHEMA, SOURCE_COLUMNS
from rebill.errors import DataContractError


def _where(source_id: str, sb: SourceBatch, row: int | None, column: str) -> str:
    at = f", row {sb.row_number(row)}" if row is not None else ""
    return f"source {source_id}: {sb.origin}{at}, column {column}"


def conform(source_id: str, sb: SourceBatch) -> pa.Table:
    """Select, order and cast ``sb`` to the source part of the canonical schema."""
    table = sb.data if isinstance(sb.data, pa.Table) else pa.Table.from_batches([sb.data])
    known = set(SOURCE_ARROW_SCHEMA.names)
    extra = [n for n in table.column_names if n not in known]
    if extra:
        raise DataContractError(
            f"{_where(source_id, sb, None, extra[0])}: not a canonical column "
            "(custom columns start with x_ and must be declared in normalize/schema.py)"
        )
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for col in SOURCE_COLUMNS:
        if col.name not in table.column_names:
            if col.required:
                raise DataContractError(
                    f"{_where(source_id, sb, None, col.name)}: required column missing"
                )
            arrays.append(pa.nulls(table.num_rows, col.arrow))
            continue
        arr = table.column(col.name)
        if col.sql == MONEY_SQL and pa.types.is_floating(arr.type):
            raise DataContractError(
                f"{_where(source_id, sb, None, col.name)}: money must be decimal, got {arr.type}"
            )
        if arr.type != col.arrow:
            try:
                arr = arr.cast(col.arrow)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                raise DataContractError(
                    f"{_where(source_id, sb, None, col.name)}: cannot convert "
                    f"{arr.type} to {col.sql}: {err}"
                ) from None
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=SOURCE_ARROW_SCHEMA)


def _in_list(values: frozenset[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


def _checks(period: Period) -> list[tuple[str, str, str]]:
    """(column, SQL condition that flags a bad row, problem) in report order."""
    checks: list[tuple[str, str, str]] = []
    for col in SOURCE_COLUMNS:
        if not col.nullable:
            checks.append((col.name, f'"{col.name}" IS NULL', "is null"))
    for name, allowed in ALLOWED.items():
        checks.append(
            (name, f'"{name}" IS NOT NULL AND "{name}" NOT IN ({_in_list(allowed)})',
             "is not a FOCUS allowed value")
        )
    checks += [
        ("BillingCurrency", f'"BillingCurrency" NOT IN ({_in_list(ISO_4217)})',
         "is not an ISO 4217 currency"),
        ("ChargePeriodStart", '"ChargePeriodStart" >= "ChargePeriodEnd"',
         "is not before ChargePeriodEnd"),
        ("BillingPeriodStart", '"BillingPeriodStart" >= "BillingPeriodEnd"',
         "is not before BillingPeriodEnd"),
        ("BillingPeriodStart",
         f"\"BillingPeriodStart\" <> TIMESTAMPTZ '{period.start_ts.isoformat()}'",
         f"is not in billing period {period.label}"),
        ("ChargeFrequency",
         "\"ChargeCategory\" = 'Purchase' AND \"ChargeFrequency\" = 'Usage-Based'",
         "is Usage-Based on a Purchase"),
    ]
    return checks


def validate(con: duckdb.DuckDBPyConnection, source_id: str, sb: SourceBatch,
             table: pa.Table, period: Period) -> None:
    """Raise on the first row (then first check) that breaks the contract."""
    if table.num_rows == 0:
        return
    checks = _checks(period)
    flags = ",\n".join(f"({cond}) AS c{i}" for i, (_, cond, _) in enumerate(checks))
    any_bad = " OR ".join(f"c{i}" for i in range(len(checks)))
    con.register("_batch", table)
    try:
        hits = con.execute(
            f"SELECT * FROM (SELECT row_number() OVER () - 1 AS _row, {flags} FROM _batch) "
            f"WHERE {any_bad} ORDER BY _row LIMIT 1"
        ).fetchall()
    finally:
        con.unregister("_batch")
    if not hits:
        return
    hit = hits[0]
    row = int(hit[0])
    for i, (column, _, problem) in enumerate(checks):
        if hit[i + 1]:
            value = table.column(column)[row].as_py()
            shown = "" if value is None else f" ({value!r})"
            raise DataContractError(f"{_where(source_id, sb, row, column)}: value{shown} {problem}")
