"""The analysts' DuckDB catalog: views over the lake, rated outputs and state.

Every view reads Parquet by glob, so new loads are visible without touching
``rebill.duckdb``. Empty placeholder files under ``_schema`` keep the views
valid on a fresh home.

``rebill.duckdb`` is portable: it is written in DuckDB's storage format
``STORAGE_VERSION`` (read by DuckDB 1.4 LTS and every later release), and its
views name local files by paths relative to ``<home>``, so a copied or moved
home works once DuckDB resolves them there (run DuckDB from ``<home>``, or
``SET file_search_path = '<home>'``: docs/analysts.md). It is built in a
temporary file and renamed over the old one, so an analyst holding the old
file open never blocks or fails a refresh. ``rebill sql`` and the pipeline
use an in-memory connection with the same views (absolute paths), so they
never touch the file.

Nothing in a view depends on the session's time zone: ``costs.period`` and
the ``anomalies`` period are computed from epoch microseconds, not from a
TIMESTAMPTZ rendered in the session's zone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from rebill import duck
from rebill.atomic import atomic_write
from rebill.datasets import (
    EXPORTS,
    RATED_COSTS,
    RATED_DAILY,
    RATED_DAILY_FILE,
    RATED_FILES,
    RATED_VIEW_FILE,
    RECEIVABLES,
    RECONCILIATION,
    period_file_token,
)
from rebill.layout import (
    SCHEMA_DIR,
    catalog_file,
    exports_file,
    lake_root,
    rated_root,
    receivables_dir,
    reconciliation_dir,
    state_dir,
)
from rebill.normalize.commitments import COMMITMENTS_SQL
from rebill.normalize.loads import write_empty as write_empty_loads
from rebill.normalize.receivables import receivables_sql
from rebill.normalize.store import lake_of
from rebill.schema import ARROW_SCHEMA
from rebill.sql import literal

log = logging.getLogger("rebill.catalog")

# The storage format of rebill.duckdb: the oldest DuckDB that opens it is 1.4.0
# (the 1.x LTS line); DuckDB 2.x reads it too.
STORAGE_VERSION = "v1.4.0"


def utc_month(column: str) -> str:
    """SQL for the UTC ``YYYY-MM`` of a TIMESTAMPTZ, whatever the session's time zone."""
    return f"strftime(make_timestamp(epoch_us({column})), '%Y-%m')"

VIEW_NAMES = (
    "costs", "loads", "rated_costs", "rated_daily", "unallocated", "invoice_lines", "invoices", "anomalies",
    "receivables", "receivables_history", "reconciliation", "commitments",
    "commitment_tenants",
)

# The ``anomalies`` view (docs/analysts.md): a (tenant, provider, service, day)
# whose amount is more than FACTOR times the median of the previous WINDOW
# days (days without cost count as zero) and more than FLOOR currency units
# above it, once the series has at least MIN_HISTORY days of history.
ANOMALY_FACTOR = 3
ANOMALY_FLOOR = "1.00"
ANOMALY_WINDOW = 14
ANOMALY_MIN_HISTORY = 7

ANOMALIES_SQL = f"""CREATE OR REPLACE VIEW anomalies AS
WITH daily AS (
  SELECT tenant_id, provider, service, tenant_currency AS currency, day, sum(amount) AS amount
  FROM rated_daily GROUP BY ALL
), series AS (
  SELECT tenant_id, provider, service, currency, min(day) AS first_day,
         (SELECT max(day) FROM daily) AS last_day
  FROM daily GROUP BY ALL
), spine AS (
  SELECT tenant_id, provider, service, currency,
         CAST(unnest(generate_series(CAST(first_day AS TIMESTAMP), CAST(last_day AS TIMESTAMP),
                                     INTERVAL 1 DAY)) AS DATE) AS day
  FROM series
), filled AS (
  SELECT s.tenant_id, s.provider, s.service, s.currency, s.day,
         coalesce(d.amount, CAST(0 AS DECIMAL(38,12))) AS amount
  FROM spine s LEFT JOIN daily d
    ON d.tenant_id IS NOT DISTINCT FROM s.tenant_id AND d.provider IS NOT DISTINCT FROM s.provider
   AND d.service IS NOT DISTINCT FROM s.service AND d.currency IS NOT DISTINCT FROM s.currency
   AND d.day = s.day
), windowed AS (
  SELECT *, median(amount) OVER w AS trailing_median, count(*) OVER w AS history_days
  FROM filled
  WINDOW w AS (PARTITION BY tenant_id, provider, service, currency ORDER BY day
               ROWS BETWEEN {ANOMALY_WINDOW} PRECEDING AND 1 PRECEDING)
)
SELECT strftime(day, '%Y-%m') AS period, tenant_id, provider, service, currency, day, amount,
       CAST(trailing_median AS DECIMAL(38,12)) AS trailing_median,
       CAST(amount - trailing_median AS DECIMAL(38,12)) AS excess, history_days
FROM windowed
WHERE history_days >= {ANOMALY_MIN_HISTORY}
  AND amount > {ANOMALY_FACTOR} * trailing_median
  AND amount - trailing_median > {ANOMALY_FLOOR}"""


def _write_empty(path: Path, schema: pa.Schema) -> None:
    if not path.exists():
        with atomic_write(path) as tmp:
            pq.write_table(schema.empty_table(), tmp)


def ensure_layout(home: Path) -> None:
    """Create the home's folders and the placeholder files the views need."""
    placeholder = lake_root(home) / SCHEMA_DIR / SCHEMA_DIR / "part-0.parquet"
    if placeholder.exists() and pq.read_schema(placeholder).names != ARROW_SCHEMA.names:
        placeholder.unlink()  # written by a version with fewer columns: the schema grew
    _write_empty(placeholder, ARROW_SCHEMA)
    lake = lake_of(home)
    if lake.remote and not lake.has(lake.placeholder()):
        lake.put(lake_root(home) / SCHEMA_DIR / SCHEMA_DIR / "part-0.parquet", lake.placeholder())
    for name, schema in RATED_FILES.items():
        _write_empty(rated_root(home) / SCHEMA_DIR / f"{name}.parquet", schema)
    _write_empty(rated_root(home) / SCHEMA_DIR / RATED_DAILY_FILE, RATED_DAILY)
    state_dir(home).mkdir(parents=True, exist_ok=True)
    write_empty_loads(home)
    _write_empty(exports_file(home), EXPORTS)
    _write_empty(receivables_dir(home) / f"{SCHEMA_DIR}.parquet", RECEIVABLES)
    _write_empty(reconciliation_dir(home) / f"{SCHEMA_DIR}.parquet", RECONCILIATION)


def _rated_costs_sql(home: Path, materialized: str, local: Callable[[Path], str]) -> str:
    """``rated_costs``: each rated period's stored view text, plus any materialized file.

    Rating stores ``rated_costs.sql`` (computed on demand over ``costs`` and the
    period's small files); a ``rated_costs.parquet`` (the empty placeholder, or a
    period written by an older rebill) is read as it is.
    """
    names = ", ".join(f'"{f.name}"' for f in RATED_COSTS)
    parts = [f"SELECT {names} FROM read_parquet({materialized}, hive_partitioning=false)"]
    for stored in sorted(rated_root(home).glob(f"period=*/{RATED_VIEW_FILE}")):
        text = stored.read_text(encoding="utf-8")
        for f in stored.parent.iterdir():
            text = text.replace(period_file_token(f.name), local(f))
        parts.append(f"SELECT {names} FROM ({text})")
    return "CREATE OR REPLACE VIEW rated_costs AS\n" + "\nUNION ALL\n".join(parts)


def _rated_daily_sql(home: Path, local: Callable[[Path], str]) -> str:
    """``rated_daily``: each rated period's ``rated_daily.parquet`` (written by rating).

    A period rated by an older rebill (no such file yet) is summed from its
    ``rated_costs`` rows on demand, until it is rated again.
    """
    names = ", ".join(f'"{f.name}"' for f in RATED_DAILY)
    glob = local(rated_root(home) / "*" / RATED_DAILY_FILE)
    parts = [f"SELECT {names} FROM read_parquet({glob}, hive_partitioning=false)"]
    older = [d.name.removeprefix("period=") for d in sorted(rated_root(home).glob("period=*"))
             if not (d / RATED_DAILY_FILE).exists()]
    if older:
        listed = ", ".join(literal(p) for p in older)
        parts.append(f"""SELECT tenant_id, period, day, kind, pool, provider, service, currency,
  sum(cost) AS cost, sum(rated) AS rated, sum(amount) AS amount,
  any_value(tenant_currency) AS tenant_currency, count(*) AS rows
FROM rated_costs WHERE period IN ({listed})
GROUP BY tenant_id, period, day, kind, pool, provider, service, currency""")
    return "CREATE OR REPLACE VIEW rated_daily AS\n" + "\nUNION ALL\n".join(parts)


def view_sql(home: Path, *, relative: bool = False) -> dict[str, str]:
    """``CREATE OR REPLACE VIEW`` statements, by view name.

    With ``relative``, local files are named relative to ``home`` (POSIX
    separators): the statements bind only where DuckDB's ``file_search_path``
    (or working directory) is ``home``. A remote lake keeps its URL.
    """
    home = home.resolve()

    def local(path: Path) -> str:
        if not relative:
            return literal(path)
        return literal(PurePosixPath(*path.relative_to(home).parts))

    glob = lake_of(home).glob()
    lake = local(Path(glob)) if not lake_of(home).remote else literal(glob)
    rated = {n: local(rated_root(home) / "*" / f"{n}.parquet") for n in RATED_FILES}
    return {
        # union_by_name: partitions written before a column was added read as NULL there
        "costs": "CREATE OR REPLACE VIEW costs AS SELECT *, "
        f"{utc_month('BillingPeriodStart')} AS period FROM "
        f"read_parquet({lake}, hive_partitioning=false, union_by_name=true)",
        "loads": "CREATE OR REPLACE VIEW loads AS SELECT * FROM "
        f"read_parquet({local(state_dir(home) / 'loads.parquet')}, hive_partitioning=false)",
        "rated_costs": _rated_costs_sql(home, rated["rated_costs"], local),
        "rated_daily": _rated_daily_sql(home, local),
        "unallocated": "CREATE OR REPLACE VIEW unallocated AS SELECT * FROM "
        f"read_parquet({rated['unallocated']}, hive_partitioning=false)",
        "invoice_lines": "CREATE OR REPLACE VIEW invoice_lines AS SELECT * FROM "
        f"read_parquet({rated['invoice_lines']}, hive_partitioning=false)",
        "invoices": f"""CREATE OR REPLACE VIEW invoices AS
WITH ledger AS (
  SELECT * FROM read_parquet({local(exports_file(home))}, hive_partitioning=false)
  QUALIFY row_number() OVER (PARTITION BY tenant_id, period ORDER BY exported_at DESC) = 1
)
SELECT d.tenant_id, d.period, d.currency, d.subtotal, d.line_count,
       CASE WHEN l.external_id IS NOT NULL THEN 'exported'
            WHEN d.closes_on <= current_date AND coalesce(d.estimated_rows, 0) = 0 THEN 'final'
            ELSE 'draft' END AS status,
       l.target, l.external_id, l.exported_at, d.closes_on, d.estimated_rows
FROM read_parquet({rated['invoices']}, hive_partitioning=false, union_by_name=true) d
LEFT JOIN ledger l USING (tenant_id, period)""",
        "anomalies": ANOMALIES_SQL,
        **receivables_sql(literal(receivables_dir(home) / "*.parquet"),
                          literal(reconciliation_dir(home) / "*.parquet")),
        **COMMITMENTS_SQL,
    }


def connect(home: Path, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with every view defined (never locks the catalog)."""
    ensure_layout(home)
    con = duck.connect(memory_limit=memory_limit)
    for sql in view_sql(home).values():
        con.execute(sql)
    return con


def refresh_catalog(home: Path) -> bool:
    """(Re)build ``<home>/rebill.duckdb`` aside and rename it into place.

    The new file (DuckDB storage ``STORAGE_VERSION``, views relative to the
    home: see the module doc) is written under a temporary name beside the
    catalog, detached (checkpointed, no WAL left) and renamed over the old one,
    so an analyst's read-only open at any instant finds a complete catalog, and
    one holding the old file open keeps reading it until they reopen. Returns
    True.
    """
    ensure_layout(home)
    home = home.resolve()
    target = catalog_file(home)
    with atomic_write(target) as tmp:
        con = duck.connect()
        try:
            con.execute(f"SET file_search_path = {literal(home)}")
            con.execute(f"ATTACH {literal(tmp)} AS catalog (STORAGE_VERSION '{STORAGE_VERSION}')")
            con.execute("USE catalog")
            for sql in view_sql(home, relative=True).values():
                con.execute(sql)
            con.execute("USE memory")
            con.execute("DETACH catalog")
        finally:
            con.close()
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return True
