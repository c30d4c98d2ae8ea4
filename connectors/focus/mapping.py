"""How a FOCUS file's columns become canonical ones (declarative, reviewable).

Files of FOCUS 1.0 to 1.2 share the canonical names. Real exports differ in
small ways the reader absorbs: the literal string ``NULL``, datetimes without
``T``/``Z``, allowed values in the wrong case (``Usage-based``), empty strings
for nulls, non-FOCUS extra columns (ignored) and FOCUS 1.3's renamed
``ServiceProviderName``.
"""

from __future__ import annotations

from rebill.schema import ALLOWED, MONEY_SQL, SOURCE_COLUMNS
from rebill.sql import ident

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
    """The column as text, with the file's null spellings turned into NULL."""
    return f"NULLIF(NULLIF(trim(CAST(\"{col}\" AS VARCHAR)), 'NULL'), '')"


def cast_expr(canonical: str, sql_type: str, source_col: str, source_type: str = "VARCHAR") -> str:
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
        return f"TRY_CAST({raw} AS {MONEY_SQL})"
    if sql_type == "TIMESTAMPTZ":
        return f"TRY_CAST(replace({raw}, 'T', ' ') AS TIMESTAMPTZ)"
    if sql_type == "BOOLEAN":
        return f"TRY_CAST({raw} AS BOOLEAN)"
    return raw
