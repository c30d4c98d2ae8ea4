"""A small fake of the BigQuery REST API, enough for google-cloud-bigquery's query path.

The real client (``AnonymousCredentials``, ``client_options={"api_endpoint": URL}``)
runs ``Client.query_and_wait``: ``POST /projects/{p}/queries`` (jobs.query);
when the answer has a ``pageToken`` it turns it into a job and follows with
``GET /projects/{p}/queries/{job}`` (jobs.getQueryResults, with ``pageToken``)
and ``GET /projects/{p}/jobs/{job}`` (jobs.get). ``POST /projects/{p}/jobs``
(jobs.insert) is served too, for clients that create the job first.

Queries run for real on DuckDB over fixture tables declared with their
BigQuery schema: the fake translates the few BigQuery idioms rebill uses
(backquoted table ids, ``@param``, ``TO_JSON_STRING``); ``GET
.../datasets/{d}/tables/{t}`` (tables.get) returns a fixture table's schema. Rows are encoded like
BigQuery's: every value a string, records as ``{"f": [{"v": ...}]}``,
repeated fields as lists of ``{"v": ...}``, timestamps as epoch microseconds
(``formatOptions.useInt64Timestamp``) and FLOAT64 as text. The Cloud Billing
API's ``GET /v1/billingAccounts/{id}`` answers from ``billing_accounts``.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import pyarrow as pa

_ARROW = {
    "STRING": pa.string(), "INTEGER": pa.int64(), "INT64": pa.int64(),
    "FLOAT": pa.float64(), "FLOAT64": pa.float64(), "NUMERIC": pa.decimal128(38, 9),
    "BOOLEAN": pa.bool_(), "BOOL": pa.bool_(), "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}


def _arrow_type(f: dict[str, Any]) -> pa.DataType:
    if f["type"] in ("RECORD", "STRUCT"):
        t: pa.DataType = pa.struct([pa.field(s["name"], _arrow_type(s)) for s in f["fields"]])
    else:
        t = _ARROW[f["type"]]
    return pa.list_(t) if f.get("mode") == "REPEATED" else t


def arrow_schema(schema: list[dict[str, Any]]) -> pa.Schema:
    return pa.schema([pa.field(f["name"], _arrow_type(f)) for f in schema])


def _parse(value: Any, f: dict[str, Any]) -> Any:
    """A fixture JSON value (as ``bq`` prints rows) to the Python value Arrow takes."""
    if value is None:
        return None
    if f.get("mode") == "REPEATED":
        return [_parse(v, {**f, "mode": "NULLABLE"}) for v in value]
    t = f["type"]
    if t in ("RECORD", "STRUCT"):
        return {s["name"]: _parse(value.get(s["name"]), s) for s in f["fields"]}
    if t == "TIMESTAMP":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if t in ("FLOAT", "FLOAT64"):
        return float(value)
    if t == "NUMERIC":
        return Decimal(str(value))
    if t in ("INTEGER", "INT64"):
        return int(value)
    return value


def _encode(value: Any, f: dict[str, Any]) -> Any:
    if value is None:
        return None
    if f.get("mode") == "REPEATED":
        return [{"v": _encode(v, {**f, "mode": "NULLABLE"})} for v in value]
    t = f["type"]
    if t in ("RECORD", "STRUCT"):
        return {"f": [{"v": _encode(value.get(s["name"]), s)} for s in f["fields"]]}
    if t == "TIMESTAMP":
        return str(int(value.timestamp() * 1_000_000))
    if t in ("BOOLEAN", "BOOL"):
        return "true" if value else "false"
    if t in ("FLOAT", "FLOAT64"):
        return repr(float(value))
    return str(value)


def _infer(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        t = "BOOLEAN"
    elif isinstance(value, int):
        t = "INTEGER"
    elif isinstance(value, float):
        t = "FLOAT"
    elif isinstance(value, Decimal):
        t = "NUMERIC"
    elif isinstance(value, datetime):
        t = "TIMESTAMP"
    else:
        t = "STRING"
    return {"name": name, "type": t, "mode": "NULLABLE"}


@dataclass
class _Job:
    project: str
    job_id: str
    schema: list[dict[str, Any]]
    rows: list[list[Any]]
    query: str


@dataclass
class FakeBigQuery:
    """Tables by id (``project.dataset.table``): ``(schema, rows as JSON objects)``."""

    tables: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = field(
        default_factory=dict)
    billing_accounts: dict[str, str] = field(default_factory=dict)
    page_size: int = 50
    tables_get: bool = True  # False: behave like a query-only proxy (tables.get is 404)
    requests: list[str] = field(default_factory=list)
    jobs: dict[str, _Job] = field(default_factory=dict)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, sql: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[Any]]]:
        con = duckdb.connect()
        con.execute("SET TimeZone='UTC'")
        names: dict[str, str] = {}
        schemas: dict[str, list[dict[str, Any]]] = {}
        for i, (table_id, (schema, rows)) in enumerate(self.tables.items()):
            data = pa.Table.from_pylist(
                [{f["name"]: _parse(r.get(f["name"]), f) for f in schema} for r in rows],
                schema=arrow_schema(schema))
            con.register(f"t{i}", data)
            names[table_id] = f"t{i}"
            schemas[f"t{i}"] = schema

        def table(m: re.Match[str]) -> str:
            if m.group(1) not in names:
                raise KeyError(m.group(1))
            return names[m.group(1)]

        text = re.sub(r"`([^`]+)`", table, sql)
        text = re.sub(r"@(\w+)", r"$\1", text).replace("TO_JSON_STRING(", "to_json(")
        cur = con.execute(text, params)
        cols = [d[0] for d in cur.description]
        out = cur.fetchall()
        known = {f["name"]: f for s in schemas.values() for f in s}
        schema_out = []
        for j, name in enumerate(cols):
            if name in known:
                schema_out.append(known[name])
            else:
                sample = next((r[j] for r in out if r[j] is not None), None)
                schema_out.append(_infer(name, sample))
        con.close()
        return schema_out, [list(r) for r in out]

    # -- HTTP ----------------------------------------------------------------
    def _page(self, job: _Job, token: str | None, max_results: int | None) -> dict[str, Any]:
        start = int(token) if token else 0
        size = self.page_size if max_results is None else min(max_results, self.page_size)
        chunk = job.rows[start:start + size]
        body: dict[str, Any] = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": {"projectId": job.project, "jobId": job.job_id, "location": "US"},
            "schema": {"fields": job.schema},
            "totalRows": str(len(job.rows)),
            "rows": [{"f": [{"v": _encode(v, f)} for v, f in zip(r, job.schema, strict=True)]}
                     for r in chunk],
            "jobComplete": True,
            "cacheHit": False,
        }
        if start + size < len(job.rows):
            body["pageToken"] = str(start + size)
        return body

    def _job_resource(self, job: _Job) -> dict[str, Any]:
        return {
            "kind": "bigquery#job", "id": f"{job.project}:US.{job.job_id}",
            "jobReference": {"projectId": job.project, "jobId": job.job_id, "location": "US"},
            "configuration": {"query": {"query": job.query, "useLegacySql": False}},
            "status": {"state": "DONE"},
            "statistics": {"creationTime": "1700000000000", "startTime": "1700000000000",
                           "endTime": "1700000000001", "query": {"statementType": "SELECT"}},
        }

    def _start(self, project: str, query: dict[str, Any]) -> _Job:
        params = {
            p["name"]: p["parameterValue"]["value"] for p in query.get("queryParameters", [])
        }
        schema, rows = self.run(query["query"], params)
        job = _Job(project, "job_" + uuid.uuid4().hex[:12], schema, rows, query["query"])
        with self._lock:
            self.jobs[job.job_id] = job
        return job

    def handle(self, method: str, path: str, qs: dict[str, list[str]],
               body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append(f"{method} {path}")
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["bigquery", "v2"]:
            parts = parts[2:]
        if parts[:2] == ["v1", "billingAccounts"] and len(parts) == 3:
            account = parts[2]
            if account not in self.billing_accounts:
                return 404, _error(404, f"billing account {account} not found")
            return 200, {"name": f"billingAccounts/{account}", "open": True,
                         "displayName": self.billing_accounts[account]}
        if len(parts) < 3 or parts[0] != "projects":
            return 404, _error(404, f"no such path {path}")
        project, kind = parts[1], parts[2]
        max_results = int(qs["maxResults"][0]) if "maxResults" in qs else None
        try:
            if method == "POST" and kind == "queries" and len(parts) == 3:
                job = self._start(project, body)
                page = self._page(job, None, body.get("maxResults"))
                page["kind"] = "bigquery#queryResponse"
                return 200, page
            if method == "POST" and kind == "jobs" and len(parts) == 3:
                job = self._start(project, body["configuration"]["query"])
                return 200, self._job_resource(job)
        except KeyError as err:
            return 404, _error(404, f"Not found: Table {err.args[0]}")
        except duckdb.Error as err:
            return 400, _error(400, f"Syntax error: {err}")
        if (method == "GET" and kind == "datasets" and len(parts) == 6 and parts[4] == "tables"
                and self.tables_get):
            table_id = f"{project}.{parts[3]}.{parts[5]}"
            if table_id not in self.tables:
                return 404, _error(404, f"Not found: Table {table_id}")
            return 200, {"kind": "bigquery#table", "id": table_id.replace(".", ":", 1),
                         "tableReference": {"projectId": project, "datasetId": parts[3],
                                            "tableId": parts[5]},
                         "schema": {"fields": self.tables[table_id][0]},
                         "numRows": str(len(self.tables[table_id][1])), "type": "TABLE"}
        if method == "GET" and len(parts) == 4 and parts[3] in self.jobs:
            job = self.jobs[parts[3]]
            if kind == "queries":
                return 200, self._page(job, qs.get("pageToken", [None])[0], max_results)
            if kind == "jobs":
                return 200, self._job_resource(job)
        return 404, _error(404, f"no such path {path}")

    def start(self) -> FakeBigQuery:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                status, answer = fake.handle(method, url.path, parse_qs(url.query), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _error(code: int, message: str) -> dict[str, Any]:
    reason = {400: "invalidQuery", 403: "accessDenied", 404: "notFound"}.get(code, "backendError")
    return {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": "global", "reason": reason}],
                      "status": "NOT_FOUND" if code == 404 else "INVALID_ARGUMENT"}}
