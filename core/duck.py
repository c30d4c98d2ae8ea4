"""The one way rebill opens DuckDB: UTC, no progress bar on stdout, bounded memory.

Filesystems added with :func:`register_filesystem` (the object-store lake of
``normalize.store``) are registered on every connection opened here.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

DEFAULT_MEMORY_LIMIT = "2GB"
# What ``memory_limit`` may say (checked again here: the value reaches SQL).
MEMORY_LIMIT_RE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)

# fsspec filesystems, one per protocol (the latest registration wins)
_filesystems: dict[str, Any] = {}


def register_filesystem(fs: Any) -> None:
    """Make every later connection read ``fs``'s protocol (an fsspec filesystem)."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    _filesystems[protocol] = fs


def connect(database: str = ":memory:", *, read_only: bool = False,
            memory_limit: str | None = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    if memory_limit and not MEMORY_LIMIT_RE.match(memory_limit):
        raise ValueError(f"memory_limit {memory_limit!r} is not a size like 2GB or 512MB")
    con = duckdb.connect(database, read_only=read_only)
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    if memory_limit:
        con.execute(f"SET memory_limit='{memory_limit}'")
    for fs in _filesystems.values():
        con.register_filesystem(fs)
    return con


def error_line(err: BaseException) -> str:
    """A DuckDB error as one line: the message and where (CSV line), without SQL echo or hints."""
    keep = []
    for raw in str(err).splitlines():
        line = raw.strip()
        if not line or line.startswith(("LINE ", "^", "Possible Solution", "Original Line",
                                        "file =", "delimiter =", "quote =", "escape =",
                                        "new_line =", "header =", "skip_rows =", "comment =",
                                        "strict_mode =", "date_format =", "timestamp_format =",
                                        "null_padding =", "all_varchar =", "The search space")):
            if line.startswith(("Possible Solution", "file =", "The search space")):
                break
            continue
        keep.append(line)
    return "; ".join(keep) or type(err).__name__
