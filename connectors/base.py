"""The connector interface every cost source implements.

A connector knows one provider's API or export and nothing of tenants. For a
billing period it returns an :class:`Extract`: a cheap fingerprint of what it
would read (manifest id, ETag, invoice version) and a *lazy* iterable of Arrow
batches already named and typed like the canonical schema
(:data:`rebill.schema.SOURCE_ARROW_SCHEMA`, optional columns may be left
out). normalize validates them, adds ``x_source``/``x_row_id``/``x_load_id``
and replaces the lake partition; when the fingerprint equals the last load's,
the batches are never iterated.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from rebill.errors import AuthError
from rebill.periods import Period


@dataclass(frozen=True)
class SourceBatch:
    """Rows plus where they came from, for error messages naming file and row."""

    data: pa.RecordBatch | pa.Table
    origin: str  # a file path, object key or API call
    first_row: int = 1  # 1-based row number of data's first row within origin
    # Row numbers within origin, one per row, when rows are not contiguous.
    line_numbers: Sequence[int] | None = None

    def row_number(self, index: int) -> int:
        """The row number (as the user counts it in ``origin``) of row ``index``."""
        if self.line_numbers is not None:
            return int(self.line_numbers[index])
        return self.first_row + index


# The relation a staged part's query reads its file's rows from (:class:`Staged`).
STAGED_ROWS = "_rebill_rows"


@dataclass(frozen=True)
class Staged:
    """A part read in order on one thread (a CSV), split in two stages.

    ``rows`` reads the file's rows as they are, plus ``_line``; ``sql`` is the
    part's query over them, named :data:`STAGED_ROWS`. The lake writer may then
    read the file on a thread and a DuckDB of its own while its own DuckDB maps
    the rows as they come, through one query: the same rows, lines and values
    as ``SqlPart.sql``, which stays the query for errors.
    """

    rows: str
    sql: str


@dataclass(frozen=True)
class SqlPart:
    """A DuckDB query yielding canonical columns plus ``_line`` (row number in origin).

    File sources hand these over instead of Arrow batches, so the whole load
    (validation, conversion, row ids, Parquet write) runs inside DuckDB.
    """

    origin: str
    sql: str
    # DuckDB threads to stream this part with (None: the connection's).
    # 1 keeps a multi-row-group or CSV scan in file order without a sort,
    # which is what makes the lake bytes deterministic at flat memory.
    threads: int | None = None
    # A part whose query checks its rows as they stream (an ``error()`` on a
    # suspect row) says here how to look closer when its stream, or an
    # earlier part's, fails: raise the one precise error (file, row, column,
    # value), or return the part to stream instead (the rows were fine after
    # a closer look), which has no ``on_error``. Failures only: a good file
    # is read once.
    on_error: Callable[[], SqlPart | None] | None = None
    # The part's rows are ``_line`` 1..lines in file order, and a filter on a
    # ``_line`` range reads just that range (a Parquet file's row groups): the
    # lake writer may then run it in chunks on every DuckDB thread, each
    # materialized in order, instead of one single-threaded stream.
    lines: int | None = None
    staged: Staged | None = None


@dataclass
class Rounding:
    """Source values rounded to the lake's 12 decimals: how many, and the total lost.

    A connector that rounds fills it while its ``sql_parts`` (or batches) are
    produced; normalize records it in ``loads``.
    """

    values: int = 0
    amount: Decimal = Decimal(0)  # sum of |source value - stored value|

    def add(self, values: int, amount: Decimal | None) -> None:
        self.values += values
        self.amount += amount or Decimal(0)


@dataclass
class Extract:
    fingerprint: str
    batches: Iterable[SourceBatch] = ()
    # Alternatively, queries normalize runs itself (large file sources); called
    # only when the fingerprint changed.
    sql_parts: Callable[[], Sequence[SqlPart]] | None = None
    # Free-form facts for the log (requests made, files read, ...).
    notes: dict[str, str] = field(default_factory=dict)
    rounding: Rounding = field(default_factory=Rounding)
    # Called once the load is over (success or not): temporary copies of
    # downloaded files the sql_parts read.
    cleanup: Callable[[], None] | None = None


@dataclass(frozen=True)
class Context:
    """What a connector may know of its surroundings."""

    home: Path
    base_dir: Path  # the config file's folder: relative paths resolve here
    today: date  # injectable clock: open periods, estimates

    @classmethod
    def now(cls, home: Path, base_dir: Path) -> Context:
        return cls(home=home, base_dir=base_dir, today=datetime.now(UTC).date())


class SourceConfig(BaseModel):
    """Base of every ``[sources.<id>]`` table; subclasses add their keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    endpoint: str | None = None


class Connector(Protocol):
    source_id: str

    def periods(self, since: date, until: date) -> list[Period]:
        """Billing periods in ``[since, until]`` this source may hold data for."""
        ...

    def extract(self, period: Period) -> Extract:
        """Fingerprint (cheap) and lazy canonical batches of one billing period."""
        ...


ConnectorFactory = Callable[[str, SourceConfig, Context], Connector]


@dataclass(frozen=True)
class ConnectorSpec:
    type: str
    config_model: builtins.type[SourceConfig]
    factory: ConnectorFactory
    provider: str  # aws | gcp | digitalocean | linode | focus


def token_from_env(source_id: str, var: str, needs: str) -> str:
    """A source's API token from the environment; missing, an AuthError naming the variable
    and what the token ``needs`` (its kind and scope)."""
    token = os.environ.get(var, "").strip()
    if not token:
        raise AuthError(f"source {source_id}: environment variable {var} is not set ({needs})")
    return token
