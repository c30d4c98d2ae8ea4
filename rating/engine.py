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
from rebill.datasets import INVOICE_DRAFTS, INVOICE_LINES, UNALLOCATED
from rebill.errors import RatingError
from rebill.layout import tmp_dir
from rebill.lines import Line, lines_hash
from rebill.money import minor_units, round_money
from rebill.normalize.catalog import connect, ensure_layout
from rebill.periods import Period, closes_on
from rebill.rating import conservation
from rebill.rating.allocate import TAKERS, build_takers
from rebill.rating.attribute import GROUP_COLUMNS, ROWS, cost_column, source_sql
from rebill.rating.daily import write_daily
from rebill.rating.fx import load_rates, resolve_rates
from rebill.rating.inputs import input_fingerprint, write_fingerprint
from rebill.rating.lines import (
    ExtraLines,
    correction_lines,
    fee_lines,
    minimum_line,
    number_lines,
)
from rebill.rating.output import publish, staging_dir, write_query, write_rows
from rebill.rating.rated import (
    FX_FILE,
    FX_SCHEMA,
    RATED_TOTALS,
    TAKERS_FILE,
    TAKERS_SCHEMA,
    TOTALS_FILE,
    VIEW_FILE,
    line_key_sql,
    read_fx_sql,
    read_takers_sql,
    stored_view_sql,
    tenant_currency_sql,
)
from rebill.rating.scan import DIRECT, build_scan
from rebill.rating.sums import FINE, build_fine, sums_sql
from rebill.sql import literal

log = logging.getLogger("rebill.rating")

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


LINES = "_rt_line_sums"


def _line_sums(con: duckdb.DuckDBPyConnection, cfg: Config, rows: str, takers: str, fx: str
               ) -> None:
    """Line sums and, per currency, the conservation sums: roll-ups of ``_rt_fine``.

    Groups are integer-keyed (tenant and pool indexes); names and line keys are
    derived on the few aggregated rows.
    """
    build_fine(con, cfg, DIRECT, rows, takers, fx)
    keys = list(dict.fromkeys(GROUP_COLUMNS[k] for k in cfg.rebill.group_by))
    one_unit = "min(unit_min) = max(unit_max) AND sum(unit_n) = sum(n)"
    sums = (f"{sums_sql('amount_u')} AS amount, {sums_sql('cost_u')} AS cost, "
            "sum(n) AS n")
    usage_group = ", ".join(["tenant_idx", *keys])
    nulls = "".join(f", CAST(NULL AS VARCHAR) AS {k}" for k in keys)
    kept = "".join(f", {k}" for k in keys)
    ids = "[" + ", ".join(literal(t.id) for t in cfg.tenants) + "]"
    pools = "[" + ", ".join(literal(p.name) for p in cfg.shared) + "]"
    pool_name = f"'Shared: ' || {pools}[pool_idx + 1]" if cfg.shared else "NULL"
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {LINES} AS
SELECT by_currency, kind, {ids}[tenant_idx + 1] AS tenant_id,
  {tenant_currency_sql(cfg)} AS tenant_currency,
  CASE WHEN kind = 'shared' THEN {pool_name} ELSE {line_key_sql(cfg)} END AS line_key,
  pool_idx{kept}, currency, amount, cost, n, quantity, unit
FROM (
  SELECT GROUPING(currency) = 0 AS by_currency, 'usage' AS kind, tenant_idx,
    CAST(NULL AS INTEGER) AS pool_idx{kept}, currency, {sums},
    CASE WHEN {one_unit} THEN sum(quantity) END AS quantity,
    CASE WHEN {one_unit} THEN min(unit_min) END AS unit
  FROM {FINE} WHERE kind = 'usage'
  GROUP BY GROUPING SETS (({usage_group}), (currency))
  UNION ALL
  SELECT GROUPING(currency) = 0, 'shared', tenant_idx, pool_idx{nulls}, currency, {sums},
    CAST(NULL AS DECIMAL(38,12)), CAST(NULL AS VARCHAR)
  FROM {FINE} WHERE kind = 'shared'
  GROUP BY GROUPING SETS ((tenant_idx, pool_idx), (currency))
)""")


def _usage_and_shared_lines(con: duckdb.DuckDBPyConnection, cfg: Config) -> list[Line]:
    keys = [GROUP_COLUMNS[k] for k in cfg.rebill.group_by]
    prov = "provider" if "provider" in cfg.rebill.group_by else "NULL"
    serv = "service" if "service" in cfg.rebill.group_by else "NULL"
    order = ", ".join(["tenant_id", "line_key", *(f"{k} NULLS FIRST" for k in keys)])
    usage = con.execute(f"""
SELECT tenant_id, tenant_currency, line_key, {prov}, {serv}, amount, quantity, unit
FROM {LINES} WHERE NOT by_currency AND kind = 'usage' ORDER BY {order}""").fetchall()
    shared = con.execute(f"""
SELECT tenant_id, tenant_currency, line_key, NULL, NULL, amount, NULL, NULL
FROM {LINES} WHERE NOT by_currency AND kind = 'shared' ORDER BY tenant_id, pool_idx""").fetchall()
    out: list[Line] = []
    for kind, rows in (("usage", usage), ("shared", shared)):
        for tenant_id, currency, desc, provider, service, total, qty, unit in rows:
            amount = round_money(Decimal(total), currency)
            if amount != 0:
                out.append(Line(tenant_id, kind, desc, amount, currency, provider, service,
                                None if qty is None else Decimal(qty), unit))
    return out


def _rated_totals_sql() -> str:
    """Per currency: direct cost and rows, pooled cost and pool rows split (conservation)."""
    return f"""
SELECT currency,
  sum(cost) FILTER (WHERE kind = 'usage') AS direct, sum(n) FILTER (WHERE kind = 'usage') AS direct_n,
  sum(cost) FILTER (WHERE kind = 'shared') AS pooled,
  (SELECT count(*) FROM {ROWS} r WHERE r.target = 'pool' AND r.currency = l.currency
     AND EXISTS (SELECT 1 FROM {TAKERS} k WHERE k.pool_idx = r.pool_idx
                 AND k.currency = r.currency AND k.day = r.day)) AS pooled_n
FROM {LINES} l WHERE by_currency GROUP BY currency ORDER BY currency"""


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
        SELECT 1 FROM {TAKERS} k WHERE k.pool_idx = r.pool_idx AND k.currency = r.currency
                                   AND k.day = r.day))
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


def _estimated_rows(db: duckdb.DuckDBPyConnection, home: Path, period: Period) -> int:
    """Cost rows of ``period`` derived from an estimate (invoices.status stays draft)."""
    found = db.execute(
        f"SELECT count(*) FROM ({source_sql(home, period)}) WHERE x_estimated").fetchall()
    return int(found[0][0])


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
            # the inputs' fingerprint, taken before anything is read (rating.inputs)
            fingerprint = input_fingerprint(cfg, period, corrections=extra_lines is not None)
            _tenants_table(db, cfg)
            fx_file = load_rates(db, cfg)
            build_scan(db, cfg, period)
            build_takers(db, cfg, DIRECT)
            rates = resolve_rates(db, f"""
SELECT DISTINCT currency, {tenant_currency_sql(cfg)} AS tenant_currency, day FROM (
  SELECT currency, tenant_idx, day FROM {DIRECT}
  UNION ALL SELECT currency, tenant_idx, day FROM {TAKERS})""", fx_file)
            staged = staging_dir(home, period)
            write_query(db, f"SELECT * FROM {TAKERS} ORDER BY ALL", TAKERS_SCHEMA,
                        staged / TAKERS_FILE)
            write_query(db, f"SELECT * FROM {rates} ORDER BY ALL", FX_SCHEMA, staged / FX_FILE)
            _line_sums(db, cfg, ROWS, read_takers_sql(literal(str(staged / TAKERS_FILE))),
                       read_fx_sql(literal(str(staged / FX_FILE))))
            lines = _invoice_lines(db, cfg, period, extra_lines)
            unalloc_rows = write_query(db, _unallocated_sql(cfg, period), UNALLOCATED,
                                       staged / "unallocated.parquet")
            (staged / VIEW_FILE).write_text(stored_view_sql(cfg, period), encoding="utf-8")
            write_rows(_line_rows(lines, period), INVOICE_LINES, staged / "invoice_lines.parquet")
            totals = _invoices(cfg, lines)
            estimated = _estimated_rows(db, home, period)
            write_rows(
                [{"tenant_id": t.tenant_id, "period": period.label, "currency": t.currency,
                  "subtotal": t.subtotal, "line_count": t.line_count,
                  "lines_hash": lines_hash([ln for ln in lines if ln.tenant_id == t.tenant_id]),
                  "closes_on": closes_on(period, cfg.rebill.close_day),
                  "estimated_rows": estimated}
                 for t in totals],
                INVOICE_DRAFTS, staged / "invoices.parquet",
            )
            write_query(db, _rated_totals_sql(), RATED_TOTALS, staged / TOTALS_FILE)
            rated_rows = int(db.execute(
                f"SELECT coalesce(sum(n), 0) FROM {LINES} WHERE by_currency").fetchall()[0][0])
            balance = conservation.measure(
                db, source_sql(home, period), cost_column=cost_column(cfg),
                tax_excluded=cfg.rebill.provider_tax == "exclude",
                rated_totals=staged / TOTALS_FILE,
                unallocated=staged / "unallocated.parquet",
            )
            conservation.check(balance, period.label)
            # daily sums for the reports; the fingerprint, published with the outputs
            # it describes
            write_daily(db, cfg, period, staged, FINE)
            write_fingerprint(staged, fingerprint)
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
