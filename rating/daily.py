"""``rated_daily.parquet``: the rated rows of a period summed per tenant, day and service.

The daily reports (anomalies, budgets, statement charts, overview margin) need
only these sums, so they read this small file (the catalog's ``rated_daily``
view) instead of evaluating ``rated_costs`` over the whole lake. One row per
(tenant_id, day, kind, pool, provider, service, currency) with the exact sums
of ``cost``, ``rated`` and ``amount`` and the number of rated rows: exactly
``SELECT ..., sum(cost), sum(rated), sum(amount), count(*) FROM rated_costs
GROUP BY ...`` of the period (tests/unit/rating/test_daily.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from rebill.config import Config
from rebill.datasets import RATED_DAILY, RATED_DAILY_FILE
from rebill.periods import Period
from rebill.rating.exact import from_units_sql
from rebill.rating.output import write_query
from rebill.rating.rated import rated_sql
from rebill.sql import literal

DAILY_KEYS = ("tenant_id", "day", "kind", "pool", "provider", "service", "currency")


def daily_sql(cfg: Config, period: Period, rows: str, takers: str, fx: str) -> str:
    """The RATED_DAILY rows of ``period`` (ordered by DAILY_KEYS, NULLS FIRST)."""
    keys = ", ".join(DAILY_KEYS)
    order = ", ".join(f"{k} NULLS FIRST" for k in DAILY_KEYS)
    return f"""
SELECT tenant_id, {literal(period.label)} AS period, day, kind, pool, provider, service, currency,
  {from_units_sql("sum(cost_u)")} AS cost, {from_units_sql("sum(rated_u)")} AS rated,
  {from_units_sql("sum(amount_u)")} AS amount, any_value(tenant_currency) AS tenant_currency,
  count(*) AS rows
FROM ({rated_sql(cfg, rows, takers, fx)})
GROUP BY {keys}
ORDER BY {order}"""


def write_daily(db: duckdb.DuckDBPyConnection, cfg: Config, period: Period, staged: Path,
                rows: str, takers: str, fx: str) -> int:
    """Write ``staged/rated_daily.parquet`` from the rated relation; returns its rows.

    ``rows``, ``takers`` and ``fx`` are what :func:`rebill.rating.rated.rated_sql`
    takes (the engine's ``_rt_rows`` table and the staged takers/FX readers).
    """
    return write_query(db, daily_sql(cfg, period, rows, takers, fx), RATED_DAILY,
                       staged / RATED_DAILY_FILE)
