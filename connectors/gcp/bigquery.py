"""The ``gcp_bigquery`` source: the Cloud Billing export to BigQuery.

One billing period = one ``invoice.month``: rows keep arriving and changing
for days, so a period is always re-queried whole by ``invoice.month``
(parameterized, never by ``export_time`` alone). The table id is validated
(``project.dataset.table``) before it is put in SQL. Works with the standard
(``gcp_billing_export_v1_*``) and detailed (``gcp_billing_export_resource_v1_*``)
tables: the table's schema says which optional columns (``resource``,
``tags``, ``cost_at_list``) exist.

The fingerprint comes from a cheap aggregate query first (row count, latest
``export_time``, cost sum): a month whose export did not move is not re-read.
Pages of the result are mapped to FOCUS by ``export_mapping.sql`` in DuckDB,
credits as separate Credit rows (see the SQL). Billing account names come
from the Cloud Billing API when ``billing_account_names`` is on, cached in
``<home>/state/gcp_billing_accounts.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from google.api_core import exceptions as gexc
from pydantic import field_validator, model_validator

from rebill import duck
from rebill.atomic import atomic_write
from rebill.connectors.base import ConnectorSpec, Context, Extract, SourceBatch, SourceConfig
from rebill.connectors.gcp.client import ERRORS, bigquery_client, billing_account_name, translate
from rebill.connectors.gcp.export_file import ExportFiles
from rebill.errors import DataContractError
from rebill.layout import state_dir
from rebill.periods import Period, periods_between
from rebill.sql import literal

log = logging.getLogger("rebill.gcp_bigquery")
TABLE_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_-]{1,1024}$")
PAGE_ROWS = 50_000
# Columns the query reads; optional ones are NULL when the table lacks them.
REQUIRED_FIELDS = ("billing_account_id", "service", "sku", "usage_start_time",
                   "usage_end_time", "project", "labels", "location", "cost", "currency",
                   "usage", "credits", "invoice", "cost_type", "export_time")
KV = pa.list_(pa.struct([pa.field("key", pa.string()), pa.field("value", pa.string())]))
OPTIONAL = {"resource_name": pa.string(), "tag_list": KV, "cost_at_list": pa.float64()}


class GcpBigQuerySource(SourceConfig):
    type: Literal["gcp_bigquery"] = "gcp_bigquery"
    table: str | None = None
    project: str | None = None  # project running the query jobs (default: the table's)
    location: str | None = None
    billing_account_names: bool = False
    # Instead of a table: local NDJSON export rows (glob) and the table's schema
    # JSON, relative to the config file (bundled demo sample, offline audits).
    path: str | None = None
    schema_path: str | None = None

    @field_validator("table")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value is not None and not TABLE_RE.match(value):
            raise ValueError(f"{value!r} is not a BigQuery table id project.dataset.table")
        return value

    @model_validator(mode="after")
    def _one_place(self) -> GcpBigQuerySource:
        if (self.table is None) == (self.path is None):
            raise ValueError("give exactly one of table (BigQuery) or path (local NDJSON rows)")
        if self.path is not None and self.schema_path is None:
            raise ValueError("path needs schema_path (the export table's schema JSON)")
        return self


@cache
def mapping_sql() -> str:
    return Path(__file__).with_name("export_mapping.sql").read_text(encoding="utf-8")


class BigQueryConnector:
    def __init__(self, source_id: str, cfg: GcpBigQuerySource, ctx: Context) -> None:
        self.source_id = source_id
        self.cfg = cfg
        self.ctx = ctx
        self._client: Any = None
        self._fields: set[str] | None = None
        self._files: ExportFiles | None = None
        if cfg.path is not None and cfg.schema_path is not None:
            self._files = ExportFiles(
                self._resolve(cfg.path), Path(self._resolve(cfg.schema_path)),
                f"source {source_id}")

    def _resolve(self, path: str) -> str:
        return path if Path(path).is_absolute() else str(self.ctx.base_dir / path)

    @property
    def table(self) -> str:
        return self.cfg.table or ""

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = bigquery_client(
                self.cfg.project or self.table.split(".")[0], self.cfg.endpoint,
                f"source {self.source_id}")
        return self._client

    @property
    def where(self) -> str:
        return f"source {self.source_id}: {self.cfg.table or self.cfg.path}"

    def periods(self, since: date, until: date) -> list[Period]:
        """Months in range up to today; a month with no rows loads an empty partition."""
        return [p for p in periods_between(since, until) if p.start <= self.ctx.today]

    def fields(self) -> set[str] | None:
        """The table's top-level columns (``tables.get``); None when the API will not say."""
        if self._fields is None and self._files is not None:
            self._fields = self._files.fields()
        if self._fields is None:
            try:
                table = self.client.get_table(self.table)
            except (gexc.NotFound, gexc.MethodNotAllowed, gexc.BadRequest):
                # Some proxies and emulators serve queries only: read ``SELECT *``
                # and let a missing table fail on the query itself.
                return None
            except ERRORS as err:
                raise translate(err, self.where) from err
            self._fields = {f.name for f in table.schema}
            missing = [f for f in REQUIRED_FIELDS if f not in self._fields]
            if missing:
                raise DataContractError(
                    f"{self.where}: not a billing export table (no column {missing[0]})")
        return self._fields

    def _query(self, sql: str, period: Period) -> Any:
        from google.cloud import bigquery

        job_config = bigquery.QueryJobConfig(query_parameters=[
            bigquery.ScalarQueryParameter("invoice_month", "STRING", f"{period.start:%Y%m}"),
        ])
        try:
            return self.client.query_and_wait(
                sql, job_config=job_config, location=self.cfg.location, page_size=PAGE_ROWS)
        except ERRORS as err:
            raise translate(err, self.where) from err

    def _columns(self) -> tuple[list[str], list[str]]:
        """(select list, full ORDER BY key) of the rows query."""
        fields = self.fields()
        if fields is None:
            return ["*"], ["usage_start_time", "project.id", "service.id", "sku.id",
                           "cost_type", "cost", "TO_JSON_STRING(labels)",
                           "TO_JSON_STRING(credits)"]
        cols = list(REQUIRED_FIELDS)
        if "resource" in fields:
            cols.append("resource.name AS resource_name")
        if "tags" in fields:
            cols.append("tags")
        if "cost_at_list" in fields:
            cols.append("cost_at_list")
        order = ["usage_start_time", "project.id", "service.id", "sku.id", "cost_type",
                 "cost", "TO_JSON_STRING(labels)", "TO_JSON_STRING(credits)"]
        if "resource" in fields:
            order.append("resource.name")
        return cols, order

    def rows_sql(self) -> str:
        cols, order = self._columns()
        return (f"SELECT {', '.join(cols)} FROM `{self.table}` "
                f"WHERE invoice.month = @invoice_month ORDER BY {', '.join(order)}")

    def _file_batches(self, files: ExportFiles, period: Period) -> Iterator[SourceBatch]:
        cols, order = self._columns()
        cols = ["tags AS tag_list" if c == "tags" else c for c in cols]
        names = {c.rsplit(" AS ", 1)[-1] for c in cols}
        cols += [f"CAST(NULL AS {t}) AS {n}" for n, t in (
            ("resource_name", "VARCHAR"), ("cost_at_list", "DOUBLE"),
            ("tag_list", "STRUCT(key VARCHAR, value VARCHAR)[]")) if n not in names]
        order = [o.replace("TO_JSON_STRING(", "to_json(") for o in order]
        mapping = mapping_sql().replace("{account_name}", "CAST(NULL AS VARCHAR)")
        yield from files.batches(period, cols, order, mapping)

    def extract(self, period: Period) -> Extract:
        if self._files is not None:
            return Extract(fingerprint=self._files.fingerprint(period),
                           batches=self._file_batches(self._files, period),
                           notes={"files": str(len(self._files.files()))})
        self.fields()
        summary = list(self._query(
            "SELECT COUNT(*) AS row_count, MAX(export_time) AS last_export, "
            f"ROUND(SUM(cost), 6) AS cost_sum FROM `{self.table}` "
            "WHERE invoice.month = @invoice_month", period))
        values = [list(r.values()) for r in summary]
        digest = hashlib.sha256(json.dumps(
            [self.table, period.label, sorted(self.fields() or ()), values], default=str,
        ).encode())
        return Extract(fingerprint=digest.hexdigest()[:32], batches=self._batches(period),
                       notes={"rows": str(values[0][0]) if values else "0"})

    def _batches(self, period: Period) -> Iterator[SourceBatch]:
        rows = self._query(self.rows_sql(), period)
        con = duck.connect()
        try:
            con.execute("SET TimeZone='UTC'")
            con.execute("SET threads=1")  # deterministic order and batch sizes
            seen = 0
            for page in rows.to_arrow_iterable(bqstorage_client=None):
                table = pa.Table.from_batches([page]) if page.num_rows else None
                if table is None:
                    continue
                table = _shape(table)
                if "tags" in table.column_names:
                    table = table.rename_columns(
                        ["tag_list" if c == "tags" else c for c in table.column_names])
                for name, type_ in OPTIONAL.items():
                    if name not in table.column_names:
                        table = table.append_column(name, pa.nulls(table.num_rows, type_))
                table = table.append_column(
                    "_n", pa.array(range(seen + 1, seen + 1 + table.num_rows), pa.int64()))
                names = self._account_names(table)
                con.register("export", table)
                try:
                    mapped = con.sql(mapping_sql().replace(
                        "{account_name}", _name_case(names))).to_arrow_table()
                except duckdb.Error as err:
                    raise DataContractError(
                        f"{self.where}, rows {seen + 1}-{seen + table.num_rows}: "
                        f"{str(err).splitlines()[0]}") from None
                finally:
                    con.unregister("export")
                yield SourceBatch(data=mapped, origin=f"{self.table} rows {seen + 1}-",
                                  first_row=1)
                seen += table.num_rows
        finally:
            con.close()

    # -- billing account names (optional, cached) ---------------------------------
    def _account_names(self, table: pa.Table) -> dict[str, str]:
        if not self.cfg.billing_account_names:
            return {}
        cache_file = state_dir(self.ctx.home) / "gcp_billing_accounts.json"
        cached: dict[str, str] = {}
        if cache_file.exists():
            try:
                cached = dict(json.loads(cache_file.read_text(encoding="utf-8")))
            except ValueError:
                cached = {}
        wanted = {str(a) for a in table.column("billing_account_id").to_pylist() if a}
        missing = sorted(wanted - set(cached))
        for account in missing:
            cached[account] = billing_account_name(
                account, self.cfg.endpoint, f"source {self.source_id}")
        if missing:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(cache_file) as tmp:
                tmp.write_text(json.dumps(cached, sort_keys=True), encoding="utf-8")
        return {k: cached[k] for k in wanted}


def _shape(table: pa.Table) -> pa.Table:
    """A ``SELECT *`` page: take ``resource.name`` out of its record, drop what the SQL does not read."""
    if "resource" in table.column_names and "resource_name" not in table.column_names:
        resource = table.column("resource")
        names = (pc.struct_field(resource, "name")
                 if pa.types.is_struct(resource.type) and resource.type.get_field_index("name") >= 0
                 else pa.nulls(table.num_rows, pa.string()))
        table = table.append_column("resource_name", names)
    keep = {*REQUIRED_FIELDS, "resource_name", "tags", "cost_at_list"}
    return table.select([c for c in table.column_names if c in keep])


def _name_case(names: dict[str, str]) -> str:
    if not names:
        return "CAST(NULL AS VARCHAR)"
    whens = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in sorted(names.items()))
    return f"CASE billing_account_id {whens} END"


SPEC = ConnectorSpec(
    type="gcp_bigquery",
    config_model=GcpBigQuerySource,
    factory=BigQueryConnector,  # type: ignore[arg-type]
    provider="gcp",
)
