"""SQL text built from values: the one place that quotes identifiers and literals.

DuckDB's Python API binds parameters for values in ``WHERE`` clauses, but
file lists, view definitions and column names (which come from source files)
must be spelled into the statement. Everything spelled in goes through
:func:`ident` or :func:`literal`; nothing else in rebill quotes SQL by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath


def ident(name: str) -> str:
    """A quoted identifier: ``ident('a"b')`` is ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str | PurePath) -> str:
    """A quoted string literal: ``literal("it's")`` is ``'it''s'``."""
    return "'" + str(value).replace("'", "''") + "'"


def literal_list(values: Iterable[str | PurePath]) -> str:
    """``'a', 'b'``: literals joined for ``IN (...)`` or a list ``[...]``."""
    return ", ".join(literal(v) for v in values)
