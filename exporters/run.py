"""``rebill export``: push a period's invoices to one target, at most once each.

For each tenant of the period: the ledger says whether this invoice already
went to the target (then nothing happens) or went anywhere with different
lines (then the export is refused: corrections belong on the next open
period). Otherwise the target pushes it (finding or adopting any remote copy
first) and the ledger records it. One run at a time per home.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from rebill.atomic import home_lock
from rebill.config import Config, Tenant, secret_from_env
from rebill.errors import ConfigError, ExportError, RebillError
from rebill.exporters import ledger
from rebill.exporters.base import StepHook, Target, no_hook
from rebill.exporters.blesta import BlestaTarget
from rebill.exporters.file import FileTarget
from rebill.exporters.fossbilling import FossBillingTarget
from rebill.exporters.model import Invoice, check_period, load_invoices
from rebill.retry import Retry

TARGETS = ("file", "fossbilling", "blesta")


@dataclass
class Outcome:
    exported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def make_target(cfg: Config, name: str, *, dry_run: bool = False, hook: StepHook = no_hook,
                transport: httpx.BaseTransport | None = None,
                retry: Retry | None = None) -> Target:
    """Build target ``name`` from the config; secrets come from the environment."""
    where = str(cfg.file or "rebill.toml")

    def secret(var: str, what: str) -> str:
        if dry_run:
            return os.environ.get(var) or "dry-run"
        return secret_from_env(var, what)

    if name == "file":
        return FileTarget(cfg.home)
    if name == "fossbilling":
        fb = cfg.exporters.fossbilling
        if fb is None:
            raise ConfigError(f"{where}: [exporters.fossbilling] is not configured")
        key = secret(fb.api_key_env, "rebill.exporters.fossbilling.api_key_env")
        return FossBillingTarget(fb, key, hook=hook, transport=transport, retry=retry)
    if name == "blesta":
        bl = cfg.exporters.blesta
        if bl is None:
            raise ConfigError(f"{where}: [exporters.blesta] is not configured")
        user = secret(bl.user_env, "rebill.exporters.blesta.user_env")
        key = secret(bl.key_env, "rebill.exporters.blesta.key_env")
        return BlestaTarget(bl, user, key, hook=hook, transport=transport, retry=retry)
    raise ConfigError(f"--target {name!r}: use one of {', '.join(TARGETS)}")


def _tenant(cfg: Config, tenant_id: str) -> Tenant | None:
    return next((t for t in cfg.tenants if t.id == tenant_id), None)


def refusal(invoice: Invoice, entries: list[ledger.Entry]) -> str | None:
    """Why ``invoice`` must not be exported, if it differs from an earlier export."""
    for e in entries:
        if e.lines_hash != invoice.lines_hash:
            return (f"{invoice.tenant_id} {invoice.period} was exported to {e.target} "
                    f"({e.external_id}) with other lines (subtotal {e.subtotal} {e.currency}, "
                    f"now {invoice.subtotal}); an exported invoice is never changed: the "
                    "difference goes as correction lines on the next open period (re-rate it)")
    return None


def export_period(cfg: Config, period: str, target: str = "file", *,
                  tenant: str | None = None, dry_run: bool = False,
                  echo: Callable[[str], None] = print, hook: StepHook = no_hook,
                  transport: httpx.BaseTransport | None = None,
                  retry: Retry | None = None) -> Outcome:
    """Export ``period`` to ``target``; raises ExportError if any invoice failed."""
    check_period(period)
    if tenant is not None:
        cfg.tenant(tenant)
    home = cfg.home
    invoices = load_invoices(home, period, tenant)
    outcome = Outcome()
    if not invoices:
        echo(f"no invoice lines for {period}" + (f" and tenant {tenant}" if tenant else ""))
        return outcome
    dest = make_target(cfg, target, dry_run=dry_run, hook=hook, transport=transport,
                       retry=retry)
    try:
        if dry_run:
            _dry_run(cfg, dest, invoices, echo, outcome)
        else:
            with home_lock(home, "exports"):
                for invoice in invoices:
                    _export_one(cfg, dest, invoice, echo, hook=hook, outcome=outcome)
    finally:
        dest.close()
    if outcome.failed:
        raise ExportError(f"{len(outcome.failed)} of {len(invoices)} invoice(s) not exported "
                          f"to {target}: {outcome.failed[0]}")
    return outcome


def _dry_run(cfg: Config, dest: Target, invoices: list[Invoice],
             echo: Callable[[str], None], outcome: Outcome) -> None:
    for invoice in invoices:
        entries = ledger.find(cfg.home, invoice.tenant_id, invoice.period)
        why = refusal(invoice, entries)
        if why:
            echo(f"would refuse: {why}")
            continue
        if any(e.target == dest.name for e in entries):
            echo(f"{invoice.key}: already exported to {dest.name}; nothing to do")
            outcome.skipped.append(invoice.tenant_id)
            continue
        echo(f"{invoice.key}: would export {len(invoice.lines)} line(s), "
             f"{invoice.subtotal} {invoice.currency}, to {dest.name}:")
        for request in dest.plan(invoice, _tenant(cfg, invoice.tenant_id)):
            echo(f"  {request}")


def _export_one(cfg: Config, dest: Target, invoice: Invoice, echo: Callable[[str], None],
                *, hook: StepHook, outcome: Outcome) -> None:
    entries = ledger.find(cfg.home, invoice.tenant_id, invoice.period)
    why = refusal(invoice, entries)
    if why:
        echo(f"refused: {why}")
        outcome.failed.append(why)
        return
    done = [e for e in entries if e.target == dest.name]
    if done:
        echo(f"{invoice.key}: already exported to {dest.name} as {done[-1].external_id}")
        outcome.skipped.append(invoice.tenant_id)
        return
    try:
        external_id = dest.push(invoice, _tenant(cfg, invoice.tenant_id))
    except RebillError as err:
        line = str(err).splitlines()[0] if str(err) else type(err).__name__
        echo(f"failed: {invoice.key}: {line}")
        outcome.failed.append(f"{invoice.key}: {line}")
        return
    hook("remote_done")
    ledger.record(cfg.home, dest.name, invoice, external_id)
    hook("ledger_written")
    echo(f"{invoice.key}: exported to {dest.name} as {external_id} "
         f"({invoice.subtotal} {invoice.currency})")
    outcome.exported.append(invoice.tenant_id)
