"""Run a catalog query and get its rows as dicts (DuckDB 2.0: fetchall, never fetchone)."""

from __future__ import annotations

from typing import Any

import duckdb


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str,
                params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
