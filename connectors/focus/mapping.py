"""How a FOCUS file's columns become canonical ones (declarative, reviewable).

Files of FOCUS 1.0 to 1.2 share the canonical names. Real exports differ in
small ways the reader absorbs: the literal string ``NULL``, datetimes without
``T``/``Z``, allowed values in the wrong case (``Usage-based``), empty strings
for nulls, non-FOCUS extra columns (ignored) and FOCUS 1.3's renamed
``ServiceProviderName``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rebill.schema import ALLOWED, MONEY_SQL, SOURCE_COLUMNS
from rebill.sql import ident, literal

# What FOCUS allows: ISO 8601 date-times (``T`` or a space, optional seconds,
# fraction and UTC offset) and plain decimals (optional sign and exponent).
ISO_8601 = (r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
            r"(Z|[+-]\d{2}(:?\d{2})?)?")
PLAIN_DECIMAL = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"


@dataclass(frozen=True)
class Layout:
    """How a file writes times and amounts when it is not FOCUS's own way.

    Set per source (``datetime_format``, ``decimal_separator``,
    ``thousands_separator``, ``currency_symbol``) to accept a spreadsheet's
    layout explicitly; by default only ISO 8601 and plain decimals parse.
    """

    datetime_format: tuple[str, ...] = ()
    decimal_separator: str = "."
    thousands_separator: str | None = None
    currency_symbols: tuple[str, ...] = ()

# Alternative spellings of canonical columns (newer or older FOCUS versions).
ALIASES: dict[str, tuple[str, ...]] = {
    "ProviderName": ("ServiceProviderName",),
    "PublisherName": ("ServiceProviderName", "ProviderName"),
    "InvoiceIssuerName": ("InvoiceIssuer",),
}

# Required columns some exports omit or leave null (OCI leaves ContractedCost
# null), filled per FOCUS's own definitions: column -> the columns to fall
# back on, in order.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "ContractedCost": ("ListCost",),
    "ListCost": ("ContractedCost",),
    "EffectiveCost": ("BilledCost",),
    "PublisherName": ("ProviderName",),
    "InvoiceIssuerName": ("ProviderName",),
}

NULL_STRINGS = ("NULL", "null", "")
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")

# What a value that does not parse should have been (added to the one-line error).
PARSE_HINTS = {
    "Tags": " (Tags must be a JSON object)",
    **{c.name: f" (an amount that fits {MONEY_SQL}: no NaN/inf)" for c in SOURCE_COLUMNS
       if c.sql == MONEY_SQL},
}


def must_parse(sql_type: str, source_type: str) -> bool:
    """Whether a value of ``source_type`` may fail to become ``sql_type`` (and is checked)."""
    return (source_type == "VARCHAR" and sql_type != "VARCHAR") or (
        sql_type == MONEY_SQL and source_type in FLOAT_TYPES)


def resolve_columns(file_columns: list[str]) -> dict[str, str]:
    """Canonical name -> the file's column holding it (case-insensitive)."""
    by_lower = {c.lower(): c for c in file_columns}
    found: dict[str, str] = {}
    for col in SOURCE_COLUMNS:
        for name in (col.name, *ALIASES.get(col.name, ())):
            if name.lower() in by_lower:
                found[col.name] = by_lower[name.lower()]
                break
    return found


def _raw(col: str) -> str:
    """The column as text, trimmed of spaces, with the file's null spellings turned into NULL.

    DuckDB's ``trim`` removes the space and the other Unicode space separators
    (category Zs, all past ASCII). So only a text starting or ending with a
    space, or holding a character past ASCII (its length in characters is not
    its length in bytes), is trimmed; any other is taken as it is. Trimming
    every text cost 8-10 % more CPU for the lake's query of the bench's FOCUS
    export and its conversion to Arrow (a test holds the two equal).
    """
    x = f'CAST("{col}" AS VARCHAR)'
    return (f"CASE WHEN {x} = '' OR {x} = 'NULL' THEN NULL "
            f"WHEN starts_with({x}, ' ') OR ends_with({x}, ' ') OR strlen({x}) <> length({x}) "
            f"THEN NULLIF(NULLIF(trim({x}), 'NULL'), '') ELSE {x} END")


def money_text(raw: str, layout: Layout) -> str:
    """SQL of the amount as a plain decimal text, after the configured layout."""
    text = raw
    for symbol in layout.currency_symbols:
        text = f"replace({text}, {literal(symbol)}, '')"
    if layout.thousands_separator:
        text = f"replace({text}, {literal(layout.thousands_separator)}, '')"
    if layout.decimal_separator != ".":
        text = f"replace({text}, {literal(layout.decimal_separator)}, '.')"
    return f"trim({text})" if text != raw else text


def time_expr(raw: str, layout: Layout) -> str:
    if layout.datetime_format:
        formats = "[" + ", ".join(literal(f) for f in layout.datetime_format) + "]"
        return f"CAST(try_strptime({raw}, {formats}) AS TIMESTAMPTZ)"
    return (f"CASE WHEN regexp_full_match({raw}, {literal(ISO_8601)}) "
            f"THEN TRY_CAST(replace({raw}, 'T', ' ') AS TIMESTAMPTZ) END")


def cast_expr(canonical: str, sql_type: str, source_col: str, source_type: str = "VARCHAR",
              layout: Layout = Layout()) -> str:
    """SQL turning the file's column into the canonical type (NULL when it does not parse).

    Typed Parquet columns are taken as they are when the type already fits;
    a floating-point money column goes through its shortest decimal text.
    """
    col = ident(source_col)
    if (source_type == sql_type and sql_type != "VARCHAR") or (
            canonical == "Tags" and source_type.startswith("MAP")):
        return col if canonical != "Tags" else f"CAST({col} AS MAP(VARCHAR, VARCHAR))"
    if sql_type == MONEY_SQL and source_type in FLOAT_TYPES:  # NaN, inf, 1e30: NULL, then named
        return f"TRY_CAST(CAST({col} AS VARCHAR) AS {MONEY_SQL})"
    if sql_type == MONEY_SQL and (source_type.startswith("DECIMAL") or "INT" in source_type):
        return f"CAST({col} AS {MONEY_SQL})"
    if sql_type == "TIMESTAMPTZ" and source_type.startswith("TIMESTAMP"):
        return f"CAST({col} AS TIMESTAMPTZ)"
    raw = _raw(source_col)
    if canonical in ALLOWED:
        cases = " ".join(
            f"WHEN '{v.lower()}' THEN '{v}'" for v in sorted(ALLOWED[canonical])
        )
        return f"CASE lower({raw}) {cases} ELSE {raw} END"
    if canonical == "Tags":
        return (  # anything but a JSON object: NULL here, named by the parse check
            f"CASE WHEN {raw} IS NULL OR NOT coalesce(json_valid({raw}), false) "
            f"OR json_type(TRY_CAST({raw} AS JSON)) <> 'OBJECT' THEN NULL "
            "ELSE map_from_entries(list_transform("
            f"map_entries(CAST(CAST({raw} AS JSON) AS MAP(VARCHAR, JSON))), "
            "lambda e: {'key': e.key, 'value': CASE WHEN json_type(e.value) = 'VARCHAR' "
            "THEN e.value->>'$' ELSE CAST(e.value AS VARCHAR) END})) END"
        )
    if sql_type == MONEY_SQL:
        text = money_text(raw, layout)
        return (f"CASE WHEN regexp_full_match({text}, {literal(PLAIN_DECIMAL)}) "
                f"THEN TRY_CAST({text} AS {MONEY_SQL}) END")
    if sql_type == "TIMESTAMPTZ":
        return time_expr(raw, layout)
    if sql_type == "BOOLEAN":
        return f"TRY_CAST({raw} AS BOOLEAN)"
    return raw
