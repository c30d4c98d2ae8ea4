"""The analysts' DuckDB catalog: views over the lake, rated outputs and state.

Every view reads Parquet by glob, so new loads are visible without touching
``rebill.duckdb``. Empty placeholder files under ``_schema`` keep the views
valid on a fresh home. ``rebill.duckdb`` is rebuilt aside and renamed into
place, so an analyst's read-only open never fails and never blocks a run.
``rebill sql`` and the pipeline itself use an in-memory connection with the
same views, so they never contend for the catalog's lock.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from rebill import duck
from rebill.atomic import atomic_write
from rebill.datasets import (
    EXPORTS,
    RATED_COSTS,
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

VIEW_NAMES = (
    "costs", "loads", "rated_costs", "unallocated", "invoice_lines", "invoices", "anomalies",
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
  FROM rated_costs GROUP BY ALL
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
    state_dir(home).mkdir(parents=True, exist_ok=True)
    write_empty_loads(home)
    _write_empty(exports_file(home), EXPORTS)
    _write_empty(receivables_dir(home) / f"{SCHEMA_DIR}.parquet", RECEIVABLES)
    _write_empty(reconciliation_dir(home) / f"{SCHEMA_DIR}.parquet", RECONCILIATION)


def _rated_costs_sql(home: Path, materialized: str) -> str:
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
            text = text.replace(period_file_token(f.name), literal(f))
        parts.append(f"SELECT {names} FROM ({text})")
    return "CREATE OR REPLACE VIEW rated_costs AS\n" + "\nUNION ALL\n".join(parts)


def view_sql(home: Path) -> dict[str, str]:
    """``CREATE OR REPLACE VIEW`` statements, by view name."""
    home = home.resolve()
    lake = literal(lake_of(home).glob())
    rated = {n: literal(rated_root(home) / "*" / f"{n}.parquet") for n in RATED_FILES}
    return {
        # union_by_name: partitions written before a column was added read as NULL there
        "costs": "CREATE OR REPLACE VIEW costs AS SELECT * FROM "
        f"read_parquet({lake}, hive_partitioning=false, union_by_name=true)",
        "loads": "CREATE OR REPLACE VIEW loads AS SELECT * FROM "
        f"read_parquet({literal(state_dir(home) / 'loads.parquet')}, hive_partitioning=false)",
        "rated_costs": _rated_costs_sql(home, rated["rated_costs"]),
        "unallocated": "CREATE OR REPLACE VIEW unallocated AS SELECT * FROM "
        f"read_parquet({rated['unallocated']}, hive_partitioning=false)",
        "invoice_lines": "CREATE OR REPLACE VIEW invoice_lines AS SELECT * FROM "
        f"read_parquet({rated['invoice_lines']}, hive_partitioning=false)",
        "invoices": f"""CREATE OR REPLACE VIEW invoices AS
WITH ledger AS (
  SELECT * FROM read_parquet({literal(exports_file(home))}, hive_partitioning=false)
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

    The new file is written under a temporary name beside the catalog, closed
    (checkpointed, no WAL left) and renamed over the old one, so an analyst's
    read-only open at any instant finds a complete catalog, and one holding the
    old file open keeps reading it until they reopen. Returns True.
    """
    ensure_layout(home)
    target = catalog_file(home)
    with atomic_write(target) as tmp:
        con = duck.connect(str(tmp))
        try:
            for sql in view_sql(home).values():
                con.execute(sql)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return True
