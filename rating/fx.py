"""Currency conversion from ``fx.csv`` (DESIGN "Rating semantics" rule 6).

``fx.csv`` has columns ``date,base,quote,rate``: 1 ``base`` = ``rate``
``quote`` on ``date``. A row in ``base`` currency for a tenant billed in
``quote`` uses the rate dated the row's day, else the latest one dated up to 7
days before it. Only that direction counts (an inverse pair is never used);
the same currency converts at 1. A missing rate is a :class:`RatingError`
naming the pair and the day.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from rebill.config import Config
from rebill.errors import RatingError
from rebill.rating.pricing import FACTOR_SQL
from rebill.sql import literal

LOOKBACK_DAYS = 7
FX_TABLE = "_rt_fx"


def fx_path(cfg: Config) -> Path | None:
    return cfg.resolve(cfg.fx.path) if cfg.fx is not None else None


def load_rates(con: duckdb.DuckDBPyConnection, cfg: Config) -> Path | None:
    """Create ``_rt_fx(date, base, quote, rate)``; empty when no file is configured."""
    path = fx_path(cfg)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {FX_TABLE} "
        f"(date DATE, base VARCHAR, quote VARCHAR, rate {FACTOR_SQL})"
    )
    if path is None:
        return None
    if not path.exists():
        raise RatingError(f"{path}: FX file not found (set [fx] path)")
    raw = (
        f"SELECT row_number() OVER () + 1 AS line, * FROM read_csv({literal(str(path))}, "
        "header=true, all_varchar=true, auto_detect=true)"
    )
    try:
        cols = [d[0] for d in con.execute(f"SELECT * FROM ({raw}) LIMIT 0").description]
    except duckdb.Error as err:
        raise RatingError(f"{path}: cannot read FX file: {str(err).splitlines()[0]}") from None
    missing = [c for c in ("date", "base", "quote", "rate") if c not in cols]
    if missing:
        raise RatingError(
            f"{path}: FX file needs columns date,base,quote,rate (missing {missing[0]})"
        )
    parsed = (
        f"SELECT line, date AS raw_date, rate AS raw_rate, TRY_CAST(trim(date) AS DATE) AS date, "
        f"upper(trim(base)) AS base, upper(trim(quote)) AS quote, "
        f"TRY_CAST(trim(rate) AS {FACTOR_SQL}) AS rate FROM ({raw})"
    )
    bad = con.execute(
        f"SELECT line, raw_date, raw_rate, date IS NULL FROM ({parsed}) "
        "WHERE date IS NULL OR rate IS NULL OR rate <= 0 OR base IS NULL OR quote IS NULL "
        "ORDER BY line LIMIT 1"
    ).fetchall()
    if bad:
        line, raw_date, raw_rate, bad_date = bad[0]
        what = f"date {raw_date!r}" if bad_date else f"rate {raw_rate!r}"
        raise RatingError(f"{path}, row {line}: bad {what} (need YYYY-MM-DD and a positive rate)")
    con.execute(f"INSERT INTO {FX_TABLE} SELECT date, base, quote, rate FROM ({parsed})")
    dup = con.execute(
        f"SELECT date, base, quote FROM {FX_TABLE} GROUP BY ALL "
        "HAVING count(DISTINCT rate) > 1 ORDER BY ALL LIMIT 1"
    ).fetchall()
    if dup:
        d, b, q = dup[0]
        raise RatingError(f"{path}: two different rates for {b}->{q} on {d}")
    return path


def resolve_rates(con: duckdb.DuckDBPyConnection, need: str, path: Path | None) -> str:
    """Create ``_rt_fx_rates(currency, tenant_currency, day, fx_rate)`` for the pairs in ``need``.

    ``need`` is a query returning distinct ``(currency, tenant_currency, day)``.
    Returns the table name; raises RatingError on the first missing rate.
    """
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE _rt_fx_rates AS
SELECT n.currency, n.tenant_currency, n.day,
       CASE WHEN n.currency = n.tenant_currency THEN CAST(1 AS {FACTOR_SQL})
            ELSE arg_max(f.rate, f.date) END AS fx_rate
FROM ({need}) n
LEFT JOIN {FX_TABLE} f
  ON n.currency <> n.tenant_currency AND f.base = n.currency AND f.quote = n.tenant_currency
 AND f.date <= n.day AND f.date >= n.day - {LOOKBACK_DAYS}
GROUP BY n.currency, n.tenant_currency, n.day""")
    missing = con.execute(
        "SELECT currency, tenant_currency, day FROM _rt_fx_rates WHERE fx_rate IS NULL "
        "ORDER BY day, currency, tenant_currency LIMIT 1"
    ).fetchall()
    if missing:
        base, quote, day = missing[0]
        where = str(path) if path is not None else "no [fx] file configured"
        raise RatingError(
            f"no FX rate {base}->{quote} for {day} or the {LOOKBACK_DAYS} days before ({where})"
        )
    return "_rt_fx_rates"
