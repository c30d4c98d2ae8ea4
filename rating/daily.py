"""``rated_daily.parquet``: the rated rows of a period summed per tenant, day and service.

The daily reports (anomalies, budgets, statement charts, overview margin) need
only these sums, so they read this small file (the catalog's ``rated_daily``
view) instead of evaluating ``rated_costs`` over the whole lake. One row per
(tenant_id, day, kind, pool, provider, service, currency) with the exact sums
of ``cost``, ``rated`` and ``amount`` and the number of rated rows: exactly
``SELECT ..., sum(cost), sum(rated), sum(amount), count(*) FROM rated_costs
GROUP BY ...`` of the period (tests/unit/rating/test_daily.py).

It is a roll-up of rating's finest sums (``_rt_fine``, :mod:`rebill.rating.sums`):
a few thousand rows, never the rated rows themselves.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from rebill.config import Config
from rebill.datasets import RATED_DAILY, RATED_DAILY_FILE
from rebill.periods import Period
from rebill.rating.exact import from_units_sql
from rebill.rating.output import write_query
from rebill.rating.rated import tenant_currency_sql
from rebill.sql import literal

DAILY_KEYS = ("tenant_id", "day", "kind", "pool", "provider", "service", "currency")


def daily_sql(cfg: Config, period: Period, fine: str) -> str:
    """The RATED_DAILY rows of ``period`` (ordered by DAILY_KEYS, NULLS FIRST).

    ``fine`` has the ``_rt_fine`` shape: kind, tenant_idx, pool_idx, day,
    currency, provider, service, cost_u, rated_u, amount_u (units of 1e-12) and
    n (rated rows).
    """
    ids = "[" + ", ".join(literal(t.id) for t in cfg.tenants) + "]"
    pools = "[" + ", ".join(literal(p.name) for p in cfg.shared) + "]"
    pool = f"CAST({pools}[pool_idx + 1] AS VARCHAR)" if cfg.shared else "CAST(NULL AS VARCHAR)"
    order = ", ".join(f"{k} NULLS FIRST" for k in DAILY_KEYS)
    return f"""
SELECT {ids}[tenant_idx + 1] AS tenant_id, {literal(period.label)} AS period, day, kind,
  {pool} AS pool, provider, service, currency,
  {from_units_sql("cost_u")} AS cost, {from_units_sql("rated_u")} AS rated,
  {from_units_sql("amount_u")} AS amount, {tenant_currency_sql(cfg)} AS tenant_currency, n AS rows
FROM (
  SELECT kind, tenant_idx, pool_idx, day, currency, provider, service, sum(cost_u) AS cost_u,
    sum(rated_u) AS rated_u, sum(amount_u) AS amount_u, CAST(sum(n) AS BIGINT) AS n
  FROM {fine}
  GROUP BY kind, tenant_idx, pool_idx, day, currency, provider, service
)
ORDER BY {order}"""


def write_daily(db: duckdb.DuckDBPyConnection, cfg: Config, period: Period, staged: Path,
                fine: str) -> int:
    """Write ``staged/rated_daily.parquet`` from rating's finest sums; returns its rows.

    ``fine`` names a relation of the ``_rt_fine`` shape (see :func:`daily_sql`).
    """
    return write_query(db, daily_sql(cfg, period, fine), RATED_DAILY, staged / RATED_DAILY_FILE)
