"""Write a period's reports under ``<home>/reports/<period>/`` (or ``--out``).

Per tenant ``statement-<tenant>.html`` and ``usage-<tenant>.csv``; without a
tenant filter also ``overview.html``. Each file is replaced atomically and
holds no clock time, so the same catalog gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from rebill.atomic import atomic_write
from rebill.config import Config
from rebill.errors import ConfigError, RatingError
from rebill.flows.reports.overview import render_overview
from rebill.flows.reports.query import fetch_dicts
from rebill.flows.reports.statement import load_statement, render_statement, usage_csv
from rebill.layout import rated_dir
from rebill.periods import Period


def reports_dir(home: Path, period: Period) -> Path:
    return home / "reports" / period.label


def _write(path: Path, text: str) -> Path:
    with atomic_write(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return path


def report_tenants(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period) -> list[str]:
    """Configured tenants (file order), then any other tenant found in the rated data."""
    seen = [r["tenant_id"] for r in fetch_dicts(con, """
        SELECT tenant_id FROM invoices WHERE period = $1
        UNION SELECT tenant_id FROM rated_costs WHERE period = $1
        ORDER BY tenant_id""", [period.label]) if r["tenant_id"] is not None]
    configured = [t.id for t in cfg.tenants]
    return configured + [t for t in seen if t not in configured]


def write_reports(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period,
                  tenant: str | None = None, out: Path | None = None) -> list[Path]:
    """Write the statements (and the overview when ``tenant`` is None); returns the paths."""
    if not rated_dir(cfg.home, period.label).is_dir():
        raise RatingError(f"period {period.label} has not been rated yet in {cfg.home}; "
                          f"run `rebill rate --period {period.label}` first")
    tenants = report_tenants(con, cfg, period)
    if tenant is not None:
        if tenant not in tenants:
            raise ConfigError(f"unknown tenant {tenant!r}: not in the config nor rated "
                              f"for {period.label}")
        tenants = [tenant]
    target = out if out is not None else reports_dir(cfg.home, period)
    by_id = {t.id: t for t in cfg.tenants}
    written: list[Path] = []
    for tenant_id in tenants:
        conf = by_id.get(tenant_id)
        default_currency = cfg.tenant_currency(conf) if conf else cfg.rebill.currency
        st = load_statement(con, period, tenant_id, default_currency)
        written.append(_write(target / f"statement-{tenant_id}.html",
                              render_statement(st, conf)))
        written.append(_write(target / f"usage-{tenant_id}.csv",
                              usage_csv(con, period, tenant_id)))
    if tenant is None:
        written.append(_write(target / "overview.html", render_overview(con, cfg, period)))
    return written
