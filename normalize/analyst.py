"""``rebill sql``: analysts' queries, which can read the catalog and change nothing.

Two independent guards:

1. **Statement allow-list** (:func:`read_statements`): every statement is
   parsed by DuckDB and must be a ``SELECT`` (which covers ``WITH``,
   ``FROM``, ``VALUES``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``) or a plain
   ``EXPLAIN`` of one. ``EXPLAIN ANALYZE`` executes its statement, so it is
   refused, as is ``EXPLAIN`` of anything else. ``COPY``, ``ATTACH``,
   ``INSTALL``/``LOAD``, ``CREATE``/``INSERT``/``UPDATE``/``DELETE``,
   ``SET``/``RESET``, ``PRAGMA``, ``CALL``, ``EXPORT`` ... are refused.
2. **A locked-down connection** (:func:`analyst_connect`): the views are
   defined, then external access is turned off except for reading the home
   (``allowed_directories``), extensions cannot be installed or loaded, and
   the configuration is locked (``lock_configuration``), so nothing a query
   says can turn those back on. Files outside the home cannot be read
   (documented in docs/analysts.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb

from rebill import duck
from rebill.errors import QueryError
from rebill.normalize.catalog import ensure_layout, view_sql
from rebill.normalize.store import lake_of

READ_ONLY_HINT = "rebill sql runs read-only queries only (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN)"


def _explained(con: duckdb.DuckDBPyConnection, statement: str) -> str:
    """The statement an ``EXPLAIN`` explains; refuses ``EXPLAIN ANALYZE`` (it executes)."""
    tokens = duckdb.tokenize(statement)
    words = [(pos, statement[pos:end].strip().lower()) for (pos, _), end in
             zip(tokens, [t[0] for t in tokens[1:]] + [len(statement)], strict=True)
             if _ != duckdb.token_type.comment]
    i = 1  # words[0] is EXPLAIN
    if i < len(words) and words[i][1] == "(":
        depth = 0
        while i < len(words):
            if words[i][1] == "(":
                depth += 1
            elif words[i][1] == ")":
                depth -= 1
            if words[i][1] in ("analyze", "analyse"):
                raise QueryError("EXPLAIN ANALYZE runs its statement: " + READ_ONLY_HINT)
            i += 1
            if depth == 0:
                break
    if i < len(words) and words[i][1] in ("analyze", "analyse"):
        raise QueryError("EXPLAIN ANALYZE runs its statement: " + READ_ONLY_HINT)
    if i >= len(words):
        raise QueryError("EXPLAIN of nothing")
    return statement[words[i][0]:]


def read_statements(con: duckdb.DuckDBPyConnection, query: str) -> list[duckdb.Statement]:
    """The parsed statements of ``query``, if every one is read-only; else QueryError."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as err:
        raise QueryError(duck.error_line(err)) from None
    if not statements:
        raise QueryError("no statement given")
    for st in statements:
        kind = st.type
        if kind == duckdb.StatementType.EXPLAIN:
            inner = _explained(con, st.query)
            try:
                kinds = [s.type for s in con.extract_statements(inner)]
            except duckdb.Error as err:
                raise QueryError(duck.error_line(err)) from None
            if kinds != [duckdb.StatementType.SELECT]:
                raise QueryError(f"EXPLAIN of a {kinds[0].name if kinds else 'non'} "
                                   f"statement: {READ_ONLY_HINT}")
        elif kind != duckdb.StatementType.SELECT:
            raise QueryError(f"{kind.name} statements are refused: {READ_ONLY_HINT}")
    return statements


def _readable_roots(home: Path) -> list[str]:
    roots = [str(home.resolve()) + "/"]
    lake = lake_of(home)
    if lake.remote:
        roots.append(lake.root.rstrip("/") + "/")
    return roots


def analyst_connect(home: Path, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the catalog's views that can read only the home."""
    ensure_layout(home)
    con = duck.connect(memory_limit=memory_limit)
    for sql in view_sql(home).values():
        con.execute(sql)
    con.execute("SET allowed_directories = $dirs", {"dirs": _readable_roots(home)})
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_query(con: duckdb.DuckDBPyConnection, query: str, batch: int = 1000
              ) -> tuple[list[str], Iterator[list[tuple[object, ...]]]]:
    """Column names and the result's rows in batches (the last statement's result)."""
    statements = read_statements(con, query)
    try:
        for st in statements[:-1]:
            con.execute(st)
        result = con.execute(statements[-1])
    except duckdb.Error as err:
        raise QueryError(duck.error_line(err)) from None
    columns = [d[0] for d in result.description or []]

    def batches() -> Iterator[list[tuple[object, ...]]]:
        while True:
            try:
                rows = result.fetchmany(batch)
            except duckdb.Error as err:
                raise QueryError(duck.error_line(err)) from None
            if not rows:
                return
            yield rows

    return columns, batches()
