"""Text rendering of ``rebill explain`` (one block per invoice line)."""

from __future__ import annotations

from collections.abc import Sequence

from rebill.flows.explain import Explanation, json_ready
from rebill.flows.output import render

ROW_COLUMNS = ("x_source", "x_row_id", "day", "account", "provider", "service", "sku",
               "resource", "pool", "pricing_rule", "cost", "markup", "rated", "currency",
               "fx_rate", "amount")


def render_text(tenant_id: str, period: str, found: Sequence[Explanation], rows: bool) -> str:
    out: list[str] = []
    for ex in found:
        check = "= the line" if ex.matches else f"!= the line ({ex.computed})"
        out.append(f"{tenant_id} {period} line {ex.line_no} ({ex.kind}) {ex.description!r}: "
                   f"{ex.amount} {ex.currency}  [{check}]")
        out += [f"  {step}" for step in ex.steps]
        if rows and "row_list" in ex.facts:
            listed = [[json_ready(r[c]) for c in ROW_COLUMNS] for r in ex.facts["row_list"]]
            out.append(render(list(ROW_COLUMNS), listed, "table"))
        out.append("")
    return "\n".join(out).rstrip("\n")
