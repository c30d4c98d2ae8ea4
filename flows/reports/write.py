"""Write a period's reports under ``<home>/reports/<period>/`` (or ``--out``).

Per tenant ``statement-<tenant>.html`` (and ``.pdf`` with ``pdf=True``, printed
by headless Chromium) and ``usage-<tenant>.csv``; without a tenant filter also
``overview.html``. A tenant with no active day in the period and no invoice
line gets no statement. Each file is replaced atomically and holds no clock
time, so the same catalog gives the same bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb

from rebill.atomic import atomic_write
from rebill.config import Config
from rebill.errors import ConfigError, RatingError
from rebill.flows.reports.overview import render_overview
from rebill.flows.reports.query import fetch_dicts
from rebill.flows.reports.statement import (
    has_statement,
    load_statement,
    render_statement,
    usage_csv,
)
from rebill.layout import rated_dir
from rebill.periods import Period

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-pdf-header-footer")


def reports_dir(home: Path, period: Period) -> Path:
    return home / "reports" / period.label


def _write(path: Path, text: str) -> Path:
    with atomic_write(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return path


def find_chromium() -> str | None:
    """``$REBILL_CHROMIUM``, else the first Chromium or Chrome on PATH."""
    explicit = os.environ.get("REBILL_CHROMIUM")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise ConfigError(f"REBILL_CHROMIUM={explicit}: not an executable file")
        return explicit
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def print_pdf(chromium: str, html: Path, pdf: Path) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium (atomically)."""
    with tempfile.TemporaryDirectory(prefix="rebill-chromium-") as profile, \
            atomic_write(pdf) as tmp:
        done = subprocess.run(  # noqa: S603 - a browser binary the operator chose, no shell
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--print-to-pdf={tmp}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ConfigError(f"{chromium}: printing {html.name} to PDF failed: {last[0]}")
    return pdf


def report_tenants(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period) -> list[str]:
    """Configured tenants (file order), then any other tenant found in the rated data."""
    seen = [r["tenant_id"] for r in fetch_dicts(con, """
        SELECT tenant_id FROM invoices WHERE period = $1
        UNION SELECT tenant_id FROM rated_daily WHERE period = $1
        ORDER BY tenant_id""", [period.label]) if r["tenant_id"] is not None]
    configured = [t.id for t in cfg.tenants]
    return configured + [t for t in seen if t not in configured]


def write_reports(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period,
                  tenant: str | None = None, out: Path | None = None,
                  pdf: bool = False) -> list[Path]:
    """Write the statements (and the overview when ``tenant`` is None); returns the paths.

    With ``pdf`` each statement is also printed to PDF; without Chromium that is a
    ConfigError raised after every HTML file is written.
    """
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
    statements: list[Path] = []
    for tenant_id in tenants:
        if not has_statement(cfg, con, period, tenant_id):
            continue
        conf = by_id.get(tenant_id)
        default_currency = cfg.tenant_currency(conf) if conf else cfg.rebill.currency
        st = load_statement(con, cfg, period, tenant_id, default_currency)
        html = _write(target / f"statement-{tenant_id}.html", render_statement(st, conf, cfg))
        statements.append(html)
        written.append(html)
        written.append(_write(target / f"usage-{tenant_id}.csv",
                              usage_csv(con, period, tenant_id)))
    if tenant is None:
        written.append(_write(target / "overview.html", render_overview(con, cfg, period)))
    if pdf and statements:
        chromium = find_chromium()
        if chromium is None:
            raise ConfigError("--pdf: no Chromium found (install the chromium package or set "
                              "REBILL_CHROMIUM to a Chrome/Chromium binary); the HTML statements "
                              f"are written in {target}")
        written += [print_pdf(chromium, h, h.with_suffix(".pdf")) for h in statements]
    return written
