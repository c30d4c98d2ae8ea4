"""Rate one billing period: lake rows + config -> rated rows, invoice lines, invoices.

``rate_period`` is the one entry point (nightly flow, demo, CLI). Every
per-row step runs in DuckDB; Python only builds SQL from the config and
handles the few invoice lines. Outputs are staged under ``<home>/tmp`` and
swapped in whole, so re-rating replaces (never appends) and a crash leaves
the previous outputs.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from rebill.atomic import clean_stale_staging, home_lock
from rebill.config import Config
from rebill.datasets import INVOICE_DRAFTS, INVOICE_LINES, RATED_COSTS, UNALLOCATED
from rebill.errors import RatingError
from rebill.layout import tmp_dir
from rebill.lines import Line, lines_hash
from rebill.money import minor_units, round_money
from rebill.normalize.catalog import connect, ensure_layout
from rebill.periods import Period
from rebill.rating import conservation
from rebill.rating.allocate import SHARES, build_shares
from rebill.rating.attribute import GROUP_COLUMNS, ROWS, build_rows, cost_column, source_sql
from rebill.rating.fx import load_rates, resolve_rates
from rebill.rating.lines import (
    ExtraLines,
    correction_lines,
    fee_lines,
    minimum_line,
    number_lines,
)
from rebill.rating.output import publish, staging_dir, write_query, write_rows
from rebill.rating.pricing import FACTOR_SQL, markup_sql
from rebill.sql import literal

log = logging.getLogger("rebill.rating")

RATED = "_rt_rated"
LINE_DECIMALS = 2  # invoice_lines.amount is DECIMAL(18,2)


# Share of the configured memory_limit given to DuckDB's buffers while rating; the
# rest is headroom for Arrow batches in flight, the Parquet writer and Python.
DUCKDB_MEMORY_SHARE = 0.75
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def duckdb_memory_limit(limit: str) -> str:
    """The DuckDB limit that keeps the whole process within ``limit`` (unchanged if unparsed)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]I?B|B)?\s*", limit.upper())
    if m is None:
        return limit
    total = Decimal(m.group(1)) * _UNITS[m.group(2) or ""]
    return f"{int(total * Decimal(str(DUCKDB_MEMORY_SHARE))) // 2**20}MiB"


@dataclass(frozen=True)
class TenantTotal:
    tenant_id: str
    name: str | None
    currency: str
    subtotal: Decimal
    line_count: int


@dataclass(frozen=True)
class RateResult:
    period: Period
    directory: Path
    lake_rows: int
    rated_rows: int
    unallocated_rows: int
    tenants: list[TenantTotal]
    lines: list[Line]
    conservation: list[conservation.Conservation]

    @property
    def unallocated(self) -> dict[str, Decimal]:
        return {c.currency: c.unallocated for c in self.conservation if c.unallocated}

    @property
    def excluded_tax(self) -> dict[str, Decimal]:
        return {c.currency: c.excluded_tax for c in self.conservation if c.excluded_tax}


def _tenants_table(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    values = ", ".join(
        f"({i}, {literal(t.id)}, {literal(cfg.tenant_currency(t))}, "
        f"{f'DATE {literal(t.start.isoformat())}' if t.start else 'NULL'}, "
        f"{f'DATE {literal(t.end.isoformat())}' if t.end else 'NULL'})"
        for i, t in enumerate(cfg.tenants)
    ) or "(NULL, NULL, NULL, NULL, NULL)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rt_tenants AS SELECT CAST(i AS INTEGER) AS tenant_idx, "
        "CAST(id AS VARCHAR) AS tenant_id, CAST(cur AS VARCHAR) AS tenant_currency, "
        "CAST(s AS DATE) AS start_day, CAST(e AS DATE) AS end_day "
        f"FROM (VALUES {values}) v(i, id, cur, s, e) WHERE i IS NOT NULL"
    )


def _line_key_sql(cfg: Config) -> str:
    cols = ", ".join(GROUP_COLUMNS[k] for k in cfg.rebill.group_by)
    return f"coalesce(nullif(concat_ws(' ', {cols}), ''), 'Other')" if cols else "'Usage'"


# columns of the rated table besides the group_by keys (rated_costs and the line sums)
# (tenant_id, tenant_currency, kind, pool and line_key are derived on read: _rated_view)
_RATED_COLUMNS = (
    "tenant_idx", "tenant_ord", "x_source", "x_row_id", "day", "pool_idx", "pricing_rule",
    "provider", "service", "charge_category", "cost", "markup", "currency", "quantity", "unit",
)


def _list_sql(values: list[str]) -> str:
    """A SQL list literal indexed by a 0-based ``*_idx`` as ``list[idx + 1]``."""
    return "[" + ", ".join(values) + "]"


def _rated_view(cfg: Config) -> str:
    """The rated table with the columns derived from its indexes."""
    ids = _list_sql([literal(t.id) for t in cfg.tenants])
    currencies = _list_sql([literal(cfg.tenant_currency(t)) for t in cfg.tenants])
    pools = f"{_list_sql([literal(p.name) for p in cfg.shared])}[pool_idx + 1]" if cfg.shared else "NULL"
    return f"""
SELECT *, CASE WHEN kind = 'shared' THEN 'Shared: ' || pool ELSE {_line_key_sql(cfg)} END
  AS line_key
FROM (
  SELECT *, {ids}[tenant_idx + 1] AS tenant_id, {currencies}[tenant_idx + 1] AS tenant_currency,
    CASE WHEN pool_idx IS NULL THEN 'usage' ELSE 'shared' END AS kind,
    CAST({pools} AS VARCHAR) AS pool
  FROM {RATED}
)"""


def _build_rated(con: duckdb.DuckDBPyConnection, cfg: Config, fx_file: Path | None) -> None:
    pools = _list_sql([literal(p.name) for p in cfg.shared])
    pool_name = f"{pools}[r.pool_idx + 1]" if cfg.shared else "CAST(NULL AS VARCHAR)"
    ids = _list_sql([literal(t.id) for t in cfg.tenants])
    currencies = _list_sql([literal(cfg.tenant_currency(t)) for t in cfg.tenants])
    order = {t.id: n for n, t in enumerate(sorted(cfg.tenants, key=lambda x: x.id))}
    ords = _list_sql([str(order[t.id]) for t in cfg.tenants])
    common = (
        "r.x_source, r.x_row_id, r.day, r.provider, r.service, r.sku, r.region, r.region_name, "
        "r.account, r.billing_account, r.charge_category, r.resource, r.is_tax, r.currency"
    )
    markup, rule = markup_sql(cfg, cfg.rebill.provider_tax == "passthrough")
    base = f"""
SELECT b.*, {ids}[b.tenant_idx + 1] AS tenant_id,
  {currencies}[b.tenant_idx + 1] AS tenant_currency,
  CAST({ords}[b.tenant_idx + 1] AS INTEGER) AS tenant_ord
FROM (
  SELECT r.tenant_idx, {common}, 'usage' AS kind, CAST(NULL AS VARCHAR) AS pool,
         CAST(NULL AS INTEGER) AS pool_idx, r.cost, r.quantity, r.unit
  FROM {ROWS} r WHERE r.target = 'tenant'
  UNION ALL
  SELECT s.tenant_idx, {common}, 'shared' AS kind, {pool_name} AS pool, r.pool_idx, s.cost,
         CAST(NULL AS DECIMAL(38,12)) AS quantity, CAST(NULL AS VARCHAR) AS unit
  FROM {SHARES} s JOIN (SELECT * FROM {ROWS} WHERE target = 'pool') r
    USING (x_source, x_row_id)
) b"""
    rates = resolve_rates(con, f"""
SELECT DISTINCT currency, {currencies}[tenant_idx + 1] AS tenant_currency, day FROM (
  SELECT currency, tenant_idx, day FROM {ROWS} WHERE target = 'tenant'
  UNION ALL
  SELECT r.currency, s.tenant_idx, r.day
  FROM {SHARES} s JOIN (SELECT * FROM {ROWS} WHERE target = 'pool') r USING (x_source, x_row_id)
)""", fx_file)
    keys = sorted({GROUP_COLUMNS[k] for k in cfg.rebill.group_by} - set(_RATED_COLUMNS))
    kept = ", ".join([*_RATED_COLUMNS, *keys])
    # Exact shortcuts: a factor of 1 leaves a 12-decimal value unchanged, so the
    # (costly, 128-bit) multiply-and-round runs only where it can change the value.
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {RATED} AS
SELECT *, CASE WHEN fx_rate = 1 THEN rated
               ELSE CAST(round(rated * fx_rate, 12) AS DECIMAL(38,12)) END AS amount
FROM (
  SELECT {kept}, f.fx_rate,
    CASE WHEN p.markup = 0 THEN p.cost
         ELSE CAST(round(p.cost * CAST(1 + p.markup AS {FACTOR_SQL}), 12) AS DECIMAL(38,12))
    END AS rated,
  FROM (SELECT *, {markup} AS markup, {rule} AS pricing_rule FROM ({base})) p
  JOIN {rates} f USING (currency, tenant_currency, day)
)""")


def _usage_and_shared_lines(con: duckdb.DuckDBPyConnection, cfg: Config) -> list[Line]:
    keys = [GROUP_COLUMNS[k] for k in cfg.rebill.group_by]
    group = ", ".join(["tenant_id", "tenant_currency", "line_key", *keys])
    prov = "provider" if "provider" in cfg.rebill.group_by else "NULL"
    serv = "service" if "service" in cfg.rebill.group_by else "NULL"
    order = ", ".join(["tenant_id", "line_key", *(f"{k} NULLS FIRST" for k in keys)])
    one_unit = "count(DISTINCT unit) = 1 AND count(unit) = count(*)"
    usage = con.execute(f"""
SELECT tenant_id, tenant_currency, line_key, {prov}, {serv}, sum(amount),
       CASE WHEN {one_unit} THEN sum(quantity) END, CASE WHEN {one_unit} THEN min(unit) END
FROM ({_rated_view(cfg)}) WHERE kind = 'usage' GROUP BY {group} ORDER BY {order}""").fetchall()
    shared = con.execute(f"""
SELECT tenant_id, tenant_currency, line_key, NULL, NULL, sum(amount), NULL, NULL
FROM ({_rated_view(cfg)}) WHERE kind = 'shared' GROUP BY tenant_id, tenant_currency, line_key, pool_idx
ORDER BY tenant_id, pool_idx""").fetchall()
    out: list[Line] = []
    for kind, rows in (("usage", usage), ("shared", shared)):
        for tenant_id, currency, desc, provider, service, total, qty, unit in rows:
            amount = round_money(Decimal(total), currency)
            if amount != 0:
                out.append(Line(tenant_id, kind, desc, amount, currency, provider, service,
                                None if qty is None else Decimal(qty), unit))
    return out


def _invoice_lines(
    con: duckdb.DuckDBPyConnection, cfg: Config, period: Period, extra: ExtraLines | None
) -> list[Line]:
    for t in cfg.tenants:
        cur = cfg.tenant_currency(t)
        if minor_units(cur) > LINE_DECIMALS:
            raise RatingError(
                f"tenant {t.id}: currency {cur} has {minor_units(cur)} decimals; "
                f"invoice lines hold {LINE_DECIMALS}"
            )
    drafts = _usage_and_shared_lines(con, cfg) + fee_lines(cfg, period)
    for t in cfg.tenants:
        top_up = minimum_line(cfg, t, period, [ln for ln in drafts if ln.tenant_id == t.id])
        if top_up is not None:
            drafts.append(top_up)
    drafts += correction_lines(cfg, period, number_lines(cfg, drafts), extra)
    return number_lines(cfg, drafts)


def _rated_sql(cfg: Config, period: Period) -> str:
    return f"""
SELECT tenant_id, {literal(period.label)} AS period, x_row_id, x_source, day, kind, pool,
  pricing_rule, provider, service, charge_category, line_key, cost,
  CAST(markup AS DECIMAL(38,12)) AS markup, rated, currency,
  CAST(fx_rate AS DECIMAL(38,12)) AS fx_rate, amount, tenant_currency
FROM ({_rated_view(cfg)}) ORDER BY tenant_ord, x_source, x_row_id"""


def _unallocated_sql(cfg: Config, period: Period) -> str:
    pool_names = " ".join(f"WHEN {i} THEN {literal(p.name)}" for i, p in enumerate(cfg.shared))
    pool_name = f"CASE pool_idx {pool_names} END" if pool_names else "''"
    return f"""
SELECT {literal(period.label)} AS period, x_row_id, x_source, day,
  CASE WHEN target = 'pool' THEN 'shared pool ' || {pool_name} ||
         ': no tenant active on the day with a positive weight or basis'
       WHEN any_tenant_match THEN 'matching tenant not active on the day'
       ELSE 'no tenant or shared pool matches' END AS reason,
  provider, service, billing_account, account, charge_category, tags, cost, currency
FROM {ROWS} r
WHERE target = 'unallocated'
   OR (target = 'pool' AND NOT EXISTS (
        SELECT 1 FROM {SHARES} s WHERE s.x_source = r.x_source AND s.x_row_id = r.x_row_id))
ORDER BY x_source, x_row_id"""


def _line_rows(lines: list[Line], period: Period) -> list[dict[str, Any]]:
    return [
        {"tenant_id": ln.tenant_id, "period": period.label, "line_no": ln.line_no,
         "kind": ln.kind, "description": ln.description, "provider": ln.provider,
         "service": ln.service, "amount": ln.amount, "currency": ln.currency,
         "taxed": ln.taxed, "quantity": ln.quantity, "unit": ln.unit}
        for ln in sorted(lines, key=lambda x: (x.tenant_id, x.line_no))
    ]


def _invoices(cfg: Config, lines: list[Line]) -> list[TenantTotal]:
    out: list[TenantTotal] = []
    for t in sorted(cfg.tenants, key=lambda x: x.id):
        mine = [ln for ln in lines if ln.tenant_id == t.id]
        if mine:
            subtotal = sum((ln.amount for ln in mine), Decimal(0))
            out.append(TenantTotal(t.id, t.name, cfg.tenant_currency(t), subtotal, len(mine)))
    return out


def _drop_temp(con: duckdb.DuckDBPyConnection, keep: frozenset[str] | set[str] = frozenset()) -> None:
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE '\\_rt\\_%' "
        "ESCAPE '\\'"
    ).fetchall()
    for (name,) in names:
        if name in keep:
            continue
        con.execute(f'DROP TABLE IF EXISTS "{name}"')


def rate_period(
    cfg: Config,
    period: Period,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    extra_lines: ExtraLines | None = None,
) -> RateResult:
    """Rate ``period`` and replace its outputs under ``<home>/rated/period=YYYY-MM``.

    ``extra_lines`` (the corrections hook) is a list of :class:`Line`, or a
    callable ``(period, draft_lines) -> lines``; its lines become ``correction``
    lines after the minimum. Raises RatingError (FX gap, conservation) and
    ConfigError (unknown tenant in a fee).
    """
    home = cfg.home
    ensure_layout(home)
    own = con is None
    db = connect(home, duckdb_memory_limit(cfg.rebill.memory_limit)) if con is None else con
    db.execute("SET TimeZone='UTC'")
    staged: Path | None = None
    try:
        with home_lock(home, f"rate-{period.label}", wait=600):
            clean_stale_staging(tmp_dir(home))  # what killed runs left
            _tenants_table(db, cfg)
            fx_file = load_rates(db, cfg)
            build_rows(db, cfg, period)
            build_shares(db, cfg)
            _build_rated(db, cfg, fx_file)
            lines = _invoice_lines(db, cfg, period, extra_lines)
            staged = staging_dir(home, period)
            unalloc_rows = write_query(db, _unallocated_sql(cfg, period), UNALLOCATED,
                                       staged / "unallocated.parquet")
            _drop_temp(db, keep={RATED})  # free the per-row tables before the big write
            rated_rows = write_query(db, _rated_sql(cfg, period), RATED_COSTS,
                                     staged / "rated_costs.parquet")
            write_rows(_line_rows(lines, period), INVOICE_LINES, staged / "invoice_lines.parquet")
            totals = _invoices(cfg, lines)
            write_rows(
                [{"tenant_id": t.tenant_id, "period": period.label, "currency": t.currency,
                  "subtotal": t.subtotal, "line_count": t.line_count,
                  "lines_hash": lines_hash([ln for ln in lines if ln.tenant_id == t.tenant_id])}
                 for t in totals],
                INVOICE_DRAFTS, staged / "invoices.parquet",
            )
            balance = conservation.measure(
                db, source_sql(home, period), cost_column=cost_column(cfg),
                tax_excluded=cfg.rebill.provider_tax == "exclude",
                rated_costs=staged / "rated_costs.parquet",
                unallocated=staged / "unallocated.parquet",
            )
            conservation.check(balance, period.label)
            directory = publish(staged, home, period)
            staged = None
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        _drop_temp(db)
        if own:
            db.close()
    log.info("rated %s: %d rated rows, %d unallocated, %d invoices",
             period, rated_rows, unalloc_rows, len(totals))
    return RateResult(
        period=period, directory=directory,
        lake_rows=sum(c.lake_rows for c in balance), rated_rows=rated_rows,
        unallocated_rows=unalloc_rows, tenants=totals, lines=lines, conservation=balance,
    )
