"""``rebill explain`` for correction lines: the exported amounts they correct.

A correction ``"Correction Q: <description>"`` on period P is (see
``exporters.corrections``) the current amount of Q's lines with that
description, less what Q's latest export sent, less corrections of them
already exported on invoices after Q. When P itself was exported, its
corrections are the ones it went out with.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from rebill.config import Config, Tenant
from rebill.exporters import ledger
from rebill.flows.explain import Explanation
from rebill.flows.reports.query import fetch_dicts
from rebill.lines import CORRECTION_PREFIX as PREFIX
from rebill.periods import Period


def explain_correction(con: duckdb.DuckDBPyConnection, cfg: Config, period: Period,
                       tenant: Tenant, ex: Explanation) -> None:
    desc = ex.description
    q = desc[len(PREFIX):len(PREFIX) + 7] if desc.startswith(PREFIX) else ""
    if desc[len(PREFIX) + 7:len(PREFIX) + 9] != ": ":
        ex.steps.append("a correction line given by the corrections hook (not an exported "
                        "period's difference): no inputs to show")
        return
    what = desc[len(PREFIX) + 9:]
    latest: dict[str, ledger.Entry] = {}
    for e in sorted(ledger.read_ledger(cfg.home), key=lambda e: (e.exported_at, e.target)):
        if e.tenant_id == tenant.id:
            latest[e.period] = e
    sent_lines = {p: ledger.exported_lines(cfg.home, e) for p, e in latest.items()}
    if period.label in latest:
        mine = [ln.amount for ln in sent_lines[period.label] if ln.description == desc]
        ex.computed = sum(mine, Decimal(0)) if mine else None
        ex.facts.update({"corrects": q, "exported_as": ex.computed})
        ex.steps.append(f"{period.label} was exported ({latest[period.label].target} "
                        f"{latest[period.label].external_id}) with this correction at "
                        f"{ex.computed} {ex.currency}; re-rating keeps it")
        return
    [row] = fetch_dicts(con, """SELECT coalesce(sum(amount), 0) AS now FROM invoice_lines
        WHERE tenant_id = $1 AND period = $2 AND description = $3""", [tenant.id, q, what])
    now = Decimal(row["now"])
    sent = sum((ln.amount for ln in sent_lines.get(q, []) if ln.description == what),
               Decimal(0))
    earlier = [(p, ln.amount) for p, lines in sorted(sent_lines.items()) if q < p
               for ln in lines if ln.kind == "correction" and ln.description == desc]
    already = sum((a for _, a in earlier), Decimal(0))
    ex.computed = now - sent - already
    entry = latest.get(q)
    ex.facts.update({"corrects": q, "now_rated": now, "exported": sent,
                     "exported_target": entry.target if entry else None,
                     "exported_external_id": entry.external_id if entry else None,
                     "earlier_corrections": [{"period": p, "amount": a} for p, a in earlier]})
    ex.steps.append(f"{q} {what!r} is now rated {now} {ex.currency}")
    ex.steps.append(f"{q} was exported" + (f" ({entry.target} {entry.external_id})"
                                            if entry else "") + f" with {sent} {ex.currency}")
    for p, a in earlier:
        ex.steps.append(f"already corrected on {p}: {a} {ex.currency}")
    ex.steps.append(f"correction {now} - {sent} - {already} = {ex.computed} {ex.currency}")
