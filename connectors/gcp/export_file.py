"""Read Cloud Billing export rows from local NDJSON files instead of BigQuery.

``bq extract --destination_format NEWLINE_DELIMITED_JSON`` (or a table copy
exported to GCS and downloaded) gives one export row per line; with the
table's schema (``bq show --schema --format=prettyjson TABLE > schema.json``)
DuckDB reads them with exact nested types. The rows then go through the same
``export_mapping.sql`` as BigQuery pages. ``rebill demo`` uses this for the
bundled GCP sample; operators can use it for offline audits.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from rebill import duck
from rebill.connectors.base import SourceBatch
from rebill.errors import DataContractError, FatalConnectorError
from rebill.periods import Period
from rebill.sql import ident, literal

BATCH_ROWS = 50_000
_TYPES = {"STRING": "VARCHAR", "FLOAT": "DOUBLE", "FLOAT64": "DOUBLE", "INTEGER": "BIGINT",
          "INT64": "BIGINT", "NUMERIC": "DECIMAL(38,9)", "BOOLEAN": "BOOLEAN",
          "BOOL": "BOOLEAN", "TIMESTAMP": "TIMESTAMPTZ", "DATE": "DATE", "JSON": "JSON"}


def duck_type(field: dict[str, Any]) -> str:
    """DuckDB type of a BigQuery schema field (records, repeated fields)."""
    if field["type"] in ("RECORD", "STRUCT"):
        inner = ", ".join(f"{ident(f['name'])} {duck_type(f)}" for f in field["fields"])
        base = f"STRUCT({inner})"
    else:
        base = _TYPES.get(field["type"], "VARCHAR")
    return f"{base}[]" if field.get("mode") == "REPEATED" else base


class ExportFiles:
    def __init__(self, pattern: str, schema_path: Path, where: str) -> None:
        self.pattern = pattern
        self.where = where
        try:
            self.schema: list[dict[str, Any]] = json.loads(schema_path.read_text("utf-8"))
        except (OSError, ValueError) as err:
            raise FatalConnectorError(f"{where}: {schema_path}: cannot read schema: {err}") from None

    def files(self) -> list[Path]:
        found = sorted(Path(p) for p in globlib.glob(self.pattern, recursive=True))  # noqa: PTH207
        files = [p for p in found if p.is_file()]
        if not files:
            raise FatalConnectorError(f"{self.where}: no files match {self.pattern!r}")
        return files

    def fields(self) -> set[str]:
        return {f["name"] for f in self.schema}

    def fingerprint(self, period: Period) -> str:
        digest = hashlib.sha256(f"{period.label}\x1f{json.dumps(self.schema)}".encode())
        for path in self.files():
            digest.update(str(path).encode())
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        return digest.hexdigest()[:32]

    def batches(self, period: Period, select: list[str], order: list[str],
                mapping: str) -> Iterator[SourceBatch]:
        columns = "{" + ", ".join(f"{literal(f['name'])}: {literal(duck_type(f))}"
                                  for f in self.schema) + "}"
        files = "[" + ", ".join(literal(str(p)) for p in self.files()) + "]"
        scan = f"read_json({files}, format='newline_delimited', columns={columns})"
        con = duck.connect()
        try:
            con.execute("SET TimeZone='UTC'")
            con.execute("SET threads=1")
            con.execute(
                f"CREATE TEMP VIEW export AS SELECT row_number() OVER (ORDER BY "
                f"{', '.join(order)}) AS _n, {', '.join(select)} FROM {scan} "
                f"WHERE invoice.month = {literal(f'{period.start:%Y%m}')}")
            first = 1
            for batch in con.sql(mapping).to_arrow_reader(BATCH_ROWS):
                yield SourceBatch(data=batch, origin=self.pattern, first_row=first)
                first += batch.num_rows
        except duckdb.Error as err:
            raise DataContractError(
                f"{self.where}: {self.pattern}: {str(err).splitlines()[0]}") from None
        finally:
            con.close()
