"""Conform connector output to the canonical schema and validate it.

Two entry points: :func:`conform` casts one Arrow batch (Python connectors:
exact for decimals, float money refused), and :func:`conformed_sql` /
:func:`first_violation` do the same in DuckDB over a connector's SQL (large
file sources). Every violation raises a :class:`DataContractError` naming
source, origin, row and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from rebill.connectors.base import SourceBatch
from rebill.currencies import ISO_4217
from rebill.errors import DataContractError
from rebill.normalize.units import unit_sql
from rebill.periods import Period
from rebill.schema import ALLOWED, MONEY_SQL, SOURCE_ARROW_SCHEMA, SOURCE_COLUMNS
from rebill.sql import literal, literal_list

FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
# The longest text cell (and Tags, as JSON text) a cost row may carry; longer is
# an export error or an attack, never a bill line.
MAX_CELL_CHARS = 65_536


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


def conformed_sql(con: duckdb.DuckDBPyConnection, source_id: str, origin: str, sql: str) -> str:
    """SQL selecting exactly the canonical source columns (typed) plus ``_line``.

    ``sql`` yields canonical column names (any subset of the optional ones)
    and ``_line``; types are checked here: float money and unknown columns
    are refused.
    """
    return conformed(con, source_id, origin, sql).sql


@dataclass(frozen=True)
class Conformed:
    """:func:`conformed_sql`'s query, and the optional columns it has as NULL in every row
    (the source does not have them)."""

    sql: str
    absent: frozenset[str]


def conformed(con: duckdb.DuckDBPyConnection, source_id: str, origin: str, sql: str
              ) -> Conformed:
    """:func:`conformed_sql`, telling which columns are NULL throughout."""
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {sql})").fetchall())
    known = {c.name for c in SOURCE_COLUMNS} | {"_line"}
    extra = [n for n in types if n not in known]
    if extra:
        raise DataContractError(f"source {source_id}: {origin}, column {extra[0]}: "
                                "not a canonical column")
    exprs = []
    for col in SOURCE_COLUMNS:
        if col.name not in types:
            if col.required:
                raise DataContractError(f"source {source_id}: {origin}, column {col.name}: "
                                        "required column missing")
            exprs.append(f'CAST(NULL AS {col.sql}) AS "{col.name}"')
            continue
        if col.sql == MONEY_SQL and str(types[col.name]) in FLOAT_TYPES:
            raise DataContractError(f"source {source_id}: {origin}, column {col.name}: "
                                    f"money must be decimal, got {types[col.name]}")
        exprs.append(f'CAST("{col.name}" AS {col.sql}) AS "{col.name}"')
    exprs = _with_units(exprs, set(types))
    absent = frozenset(col.name for col, expr in zip(SOURCE_COLUMNS, exprs, strict=True)
                       if expr.startswith("CAST(NULL AS "))
    exprs.append("CAST(_line AS BIGINT) AS _line")
    return Conformed(f"SELECT {', '.join(exprs)} FROM ({sql})", absent)


UNIT_COLUMNS = ("PricingUnit", "ConsumedUnit")


def _with_units(exprs: list[str], present: set[str]) -> list[str]:
    """PricingUnit/ConsumedUnit in FOCUS unit format; the provider's PricingUnit kept."""
    out = []
    for expr in exprs:
        name = expr.rsplit(" AS ", 1)[-1].strip('"')
        if name in UNIT_COLUMNS and name in present:
            raw = f'CAST("{name}" AS VARCHAR)'
            out.append(f'{unit_sql(raw)} AS "{name}"')
        elif name == "x_PricingUnitOriginal" and name not in present and "PricingUnit" in present:
            raw = 'CAST("PricingUnit" AS VARCHAR)'
            out.append(f"CASE WHEN {raw} IS DISTINCT FROM {unit_sql(raw)} THEN {raw} END "
                       'AS "x_PricingUnitOriginal"')
        else:
            out.append(expr)
    return out


def _in_list(values: frozenset[str]) -> str:
    """A list literal for ``list_position``: DuckDB plans ``IN (...)`` and ``list_contains``
    of a long constant list as a join, and a join does not keep the rows' order on
    several threads (the lake writer relies on it)."""
    return "[" + literal_list(sorted(values)) + "]"


def _checks(period: Period) -> list[tuple[str, str, str]]:
    """(column, SQL condition that flags a bad row, problem) in report order."""
    checks: list[tuple[str, str, str]] = []
    for col in SOURCE_COLUMNS:
        if not col.nullable:
            checks.append((col.name, f'"{col.name}" IS NULL', "is null"))
    for name, allowed in ALLOWED.items():
        checks.append(
            (name, f'"{name}" IS NOT NULL AND list_position({_in_list(allowed)}, "{name}") IS NULL',
             "is not a FOCUS allowed value")
        )
    checks += [
        ("BillingCurrency",
         f'"BillingCurrency" IS NOT NULL AND list_position({_in_list(ISO_4217)}, '
         '"BillingCurrency") IS NULL',
         "is not an ISO 4217 currency"),
        ("ChargePeriodStart", '"ChargePeriodStart" >= "ChargePeriodEnd"',
         "is not before ChargePeriodEnd"),
        ("BillingPeriodStart", '"BillingPeriodStart" >= "BillingPeriodEnd"',
         "is not before BillingPeriodEnd"),
        ("BillingPeriodStart",
         f"\"BillingPeriodStart\" <> TIMESTAMPTZ '{period.start_ts.isoformat()}'",
         f"is not in billing period {period.label}"),
        ("BillingPeriodEnd",
         f"\"BillingPeriodEnd\" <> TIMESTAMPTZ '{period.end_ts.isoformat()}'",
         f"is not the end of billing period {period.label} ({period.end_ts.isoformat()})"),
        ("ChargeFrequency",
         "\"ChargeCategory\" = 'Purchase' AND \"ChargeFrequency\" = 'Usage-Based'",
         "is Usage-Based on a Purchase"),
    ]
    checks += [
        (col.name, f'length("{col.name}") > {MAX_CELL_CHARS}',
         f"is longer than {MAX_CELL_CHARS} characters")
        for col in SOURCE_COLUMNS if col.sql == "VARCHAR"
    ]
    checks += [
        (col.name, f'length(CAST("{col.name}" AS VARCHAR)) > {MAX_CELL_CHARS}',
         f"is longer than {MAX_CELL_CHARS} characters")
        for col in SOURCE_COLUMNS if col.sql.startswith("MAP")
    ]
    return checks


VIOLATION_MARK = "rebill: row breaks the data contract"


def guarded(value_sql: str, period: Period) -> str:
    """``value_sql``, or a DuckDB error carrying :data:`VIOLATION_MARK` on a row any check flags.

    Folds validation into the query that writes the rows (one scan); which
    row and column is then named by :func:`first_violation`, on failure only.
    """
    any_bad = " OR ".join(f"({cond})" for _, cond, _ in _checks(period))
    return f"CASE WHEN {any_bad} THEN error({literal(VIOLATION_MARK)}) ELSE {value_sql} END"


def first_violation(con: duckdb.DuckDBPyConnection, relation: str, period: Period
                    ) -> tuple[int, str, str, object] | None:
    """(``_line``, column, problem, value) of the first bad row of ``relation``, if any."""
    checks = _checks(period)
    flags = ",\n".join(f"({cond}) AS c{i}" for i, (_, cond, _) in enumerate(checks))
    any_bad = " OR ".join(f"c{i}" for i in range(len(checks)))
    hits = con.execute(
        f"SELECT * FROM (SELECT _line, {flags}, * FROM ({relation})) "
        f"WHERE {any_bad} ORDER BY _line LIMIT 1"
    ).fetchall()
    if not hits:
        return None
    hit = hits[0]
    values = dict(zip([d[0] for d in con.description or []], hit, strict=False))
    for i, (column, _, problem) in enumerate(checks):
        if hit[i + 1]:
            return int(hit[0]), column, problem, values.get(column)
    return None  # pragma: no cover - a flagged row has a flag set


def describe_violation(source_id: str, origin: str, hit: tuple[int, str, str, object]) -> str:
    line, column, problem, value = hit
    if isinstance(value, datetime):
        value = value.isoformat().replace("+00:00", "Z")
    text = None if value is None else repr(value)
    if text is not None and len(text) > 80:
        text = f"{text[:80]}... ({len(text)} characters)"
    shown = "" if text is None else f" ({text})"
    return f"source {source_id}: {origin}, row {line}, column {column}: value{shown} {problem}"
