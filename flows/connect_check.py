"""``rebill check --connect``: one cheap authenticated call per source and billing target.

Like ``dbt debug``: one line each, ``ok`` or the one-line error, so a missing
token, a refused key or an unreachable endpoint shows before tonight's run.
Nothing is loaded or written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from rebill.config import Config
from rebill.errors import RebillError
from rebill.flows.pipeline import connector


@dataclass(frozen=True)
class Probe:
    name: str  # "source do" | "target fossbilling"
    ok: bool
    detail: str


def _source_call(conn: Any, today: date) -> str:
    """The cheapest call that needs the source's credentials."""
    if hasattr(conn, "account"):  # Linode: GET /account
        conn.account()
        return "account readable"
    if hasattr(conn, "invoices") and hasattr(conn, "billing_account"):  # DigitalOcean
        closed, preview = conn.invoices()
        return f"{len(closed)} invoices" + (", month-to-date preview" if preview else "")
    if hasattr(conn, "_billing_account"):  # Cost Explorer: sts:GetCallerIdentity
        return f"account {conn._billing_account()}"
    if hasattr(conn, "fields") and hasattr(conn, "table"):  # BigQuery: the table's schema
        conn.fields()
        return f"table {conn.table} readable"
    periods = conn.periods(today - timedelta(days=31), today)  # files, S3 listing
    return f"{len(periods)} periods in the last month"


def _target_call(cfg: Config, name: str) -> str:
    from rebill.exporters.run import make_target
    from rebill.retry import Retry

    dest: Any = make_target(cfg, name, retry=Retry(attempts=1))
    try:
        if name == "fossbilling":
            dest.api.call("client/get_list", {"per_page": 1})
        elif name == "blesta":
            dest.api.call("GET", "clients/getList", {"status": "active", "page": 1})
        return "api key accepted" if name != "file" else f"writes under {cfg.home / 'exports'}"
    finally:
        dest.close()


def _probe(name: str, call: Callable[[], str]) -> Probe:
    try:
        return Probe(name, True, call())
    except RebillError as err:
        return Probe(name, False, str(err).splitlines()[0] if str(err) else type(err).__name__)


def probe_all(cfg: Config, today: date) -> list[Probe]:
    """One probe per configured source, then per billing target in use."""
    out: list[Probe] = []
    for sid in sorted(cfg.sources):
        def source(sid: str = sid) -> str:
            return _source_call(connector(cfg, sid, today), today)
        out.append(_probe(f"source {sid}", source))
    targets = {cfg.rebill.export_to} | {n for n in ("fossbilling", "blesta")
                                        if getattr(cfg.exporters, n) is not None}
    for name in sorted(targets):
        def target(name: str = name) -> str:
            return _target_call(cfg, name)
        out.append(_probe(f"target {name}", target))
    return out
