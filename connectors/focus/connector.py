"""Read FOCUS CSV/Parquet files matched by a glob, one billing period at a time."""

from __future__ import annotations

import glob as globlib
import hashlib
import logging
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb

from rebill import duck
from rebill.connectors.base import ConnectorSpec, Context, Extract, SourceConfig, SqlPart
from rebill.connectors.focus.mapping import FALLBACKS, cast_expr, resolve_columns
from rebill.errors import DataContractError, FatalConnectorError
from rebill.periods import Period
from rebill.schema import SOURCE_COLUMNS
from rebill.sql import ident, literal

log = logging.getLogger("rebill.focus")


class FocusSource(SourceConfig):
    type: Literal["focus"] = "focus"
    path: str  # glob, relative to the config file's folder
    format: Literal["auto", "csv", "parquet"] = "auto"


class FocusConnector:
    # Files say which periods they hold: a plain ``rebill ingest`` loads them all.
    lists_periods = True

    def __init__(self, source_id: str, cfg: FocusSource, ctx: Context) -> None:
        self.source_id = source_id
        self.cfg = cfg
        self.ctx = ctx
        self._periods: dict[Path, set[str]] = {}

    # -- files -----------------------------------------------------------
    def files(self) -> list[Path]:
        pattern = self.cfg.path
        if not Path(pattern).is_absolute():
            pattern = str(self.ctx.base_dir / pattern)
        found = sorted(Path(p) for p in globlib.glob(pattern, recursive=True))  # noqa: PTH207
        return [p for p in found if p.is_file()]

    def _format(self, path: Path) -> str:
        if self.cfg.format != "auto":
            return self.cfg.format
        return "parquet" if ".parquet" in path.suffixes else "csv"

    def _scan(self, con: duckdb.DuckDBPyConnection, path: Path) -> str:
        if self._format(path) == "parquet":
            return f"read_parquet({literal(str(path))}, file_row_number=true, hive_partitioning=false)"
        return (
            f"read_csv({literal(str(path))}, all_varchar=true, header=true, "
            "nullstr=['NULL', ''], auto_detect=true)"
        )

    def _mapped(self, con: duckdb.DuckDBPyConnection, path: Path) -> str:
        """SQL selecting ``_line`` plus every canonical column present or derivable."""
        scan = self._scan(con, path)
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {scan})"
                                 ).fetchall())
        found = resolve_columns(list(types))
        header = 1 if self._format(path) == "csv" else 0
        line = ("file_row_number + 1" if self._format(path) == "parquet"
                else f"row_number() OVER () + {header}")
        exprs = [f"{line} AS _line"]
        raws, checked = [], []
        for col in SOURCE_COLUMNS:
            if col.name in found:
                source_type = str(types[found[col.name]])
                expr = cast_expr(col.name, col.sql, found[col.name], source_type)
                exprs.append(f'{expr} AS "{col.name}"')
                if source_type == "VARCHAR" and col.sql != "VARCHAR":  # text that must parse
                    raws.append(f'{ident(found[col.name])} AS "_raw_{col.name}"')
                    checked.append(col.name)
        inner = f"SELECT {', '.join(exprs + raws)} FROM {scan}"
        outer = ["_line"]
        for col in SOURCE_COLUMNS:
            options = [c for c in (col.name, *FALLBACKS.get(col.name, ())) if c in found]
            if options:
                quoted = ", ".join(ident(c) for c in options)
                outer.append(f'coalesce({quoted}) AS "{col.name}"')
            elif col.required:
                raise DataContractError(
                    f"source {self.source_id}: {path}: required FOCUS column {col.name} missing"
                )
        outer += [f'"_raw_{c}"' for c in checked]
        return f"SELECT {', '.join(outer)} FROM ({inner})"

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return duck.connect()

    def _file_periods(self, con: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
        if path not in self._periods:
            rows = con.execute(
                f"SELECT DISTINCT strftime(BillingPeriodStart, '%Y-%m') FROM "
                f"({self._mapped(con, path)}) WHERE BillingPeriodStart IS NOT NULL"
            ).fetchall()
            self._periods[path] = {r[0] for r in rows}
        return self._periods[path]

    # -- Connector ---------------------------------------------------------
    def periods(self, since: date, until: date) -> list[Period]:
        files = self.files()
        if not files:
            raise FatalConnectorError(
                f"source {self.source_id}: no files match {self.cfg.path!r}"
            )
        labels: set[str] = set()
        with self._connect() as con:
            for path in files:
                labels |= self._file_periods(con, path)
        found = sorted(Period.parse(label) for label in labels)
        return [p for p in found if p.end > since and p.start <= until]

    def extract(self, period: Period) -> Extract:
        with self._connect() as con:
            files = [p for p in self.files() if period.label in self._file_periods(con, p)]
        digest = hashlib.sha256()
        for path in files:
            st = path.stat()
            digest.update(f"{path}\x1f{st.st_size}\x1f{st.st_mtime_ns}\n".encode())
        return Extract(
            fingerprint=digest.hexdigest()[:32],
            sql_parts=lambda: self._parts(files, period),
            notes={"files": str(len(files))},
        )

    def _parts(self, files: list[Path], period: Period) -> list[SqlPart]:
        """One query per file, after checking every value of the file parses."""
        parts = []
        for path in files:
            with self._connect() as con:
                mapped = self._mapped(con, path)
                self._check_parse(con, path, mapped)
                present = set(_columns(con, mapped))
            canon = ", ".join(f'"{c.name}"' for c in SOURCE_COLUMNS if c.name in present)
            parts.append(SqlPart(
                origin=str(path),
                sql=f"SELECT _line, {canon} FROM ({mapped}) "
                f"WHERE strftime(BillingPeriodStart, '%Y-%m') = {literal(period.label)}",
            ))
        return parts

    def _check_parse(self, con: duckdb.DuckDBPyConnection, path: Path, mapped: str) -> None:
        """Name the first value that did not parse (file, line, column, value)."""
        cols = _columns(con, mapped)
        checks = [
            f'("{c}" IS NULL AND "_raw_{c}" IS NOT NULL AND '
            f"trim(CAST(\"_raw_{c}\" AS VARCHAR)) NOT IN ('NULL', ''))"
            for c in cols if not c.startswith("_") and f"_raw_{c}" in cols
        ]
        if not checks:
            return
        hits = con.execute(
            f"SELECT * FROM ({mapped}) WHERE {' OR '.join(checks)} ORDER BY _line LIMIT 1"
        ).fetchall()
        if not hits:
            return
        flagged = hits[0]
        row = dict(zip(cols, flagged, strict=True))
        for c in cols:
            raw = row.get(f"_raw_{c}")
            if not c.startswith("_") and row[c] is None and raw not in (None, "", "NULL"):
                raise DataContractError(
                    f"source {self.source_id}: {path}, row {row['_line']}, column {c}: "
                    f"cannot parse {raw!r}"
                )


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]


SPEC = ConnectorSpec(
    type="focus",
    config_model=FocusSource,
    factory=lambda sid, cfg, ctx: FocusConnector(sid, cfg, ctx),  # type: ignore[arg-type]
    provider="focus",
)
