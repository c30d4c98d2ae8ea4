"""The one way rebill opens DuckDB: UTC, no progress bar on stdout, bounded memory."""

from __future__ import annotations

import duckdb

DEFAULT_MEMORY_LIMIT = "2GB"


def connect(database: str = ":memory:", *, read_only: bool = False,
            memory_limit: str | None = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(database, read_only=read_only)
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    if memory_limit:
        con.execute(f"SET memory_limit='{memory_limit}'")
    return con
