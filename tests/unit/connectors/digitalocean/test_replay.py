"""The demo's replay server feeds both invoice connectors through their real SDKs."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.connectors.replay import serve_samples
from rebill.normalize.catalog import ensure_layout
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.conftest import SAMPLES


def test_replay_serves_the_samples_to_both_connectors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ensure_layout(home)
    ctx = Context(home=home, base_dir=tmp_path, today=date(2026, 11, 20))
    before = os.environ.get("REQUESTS_CA_BUNDLE")
    do = json.loads((SAMPLES / "digitalocean" / "api.json").read_text(), parse_float=Decimal)
    linode = json.loads((SAMPLES / "linode" / "api.json").read_text(), parse_float=Decimal)
    with serve_samples(SAMPLES) as sources:
        totals: dict[str, dict[str, Decimal]] = {}
        for sid, raw in sources.items():
            conn = build(sid, raw, ctx)
            for p in conn.periods(date(2026, 9, 1), date(2026, 11, 30)):
                totals.setdefault(sid, {})[p.label] = load_partition(
                    home, conn, p).billed_cost.get("USD", Decimal(0))
    assert os.environ.get("REQUESTS_CA_BUNDLE") == before
    for inv in do["invoices"]:
        assert totals["digitalocean"][inv["invoice_period"]] == Decimal(inv["amount"])
    assert totals["digitalocean"]["2026-11"] == sum(
        Decimal(i["amount"]) for i in do["invoice_items"]["preview"])
    for inv in linode["invoices"]:
        label = Period.of(date.fromisoformat(inv["date"][:10]).replace(day=1)).previous().label
        assert totals["linode"][label] == inv["total"]
    assert totals["linode"]["2026-11"] == linode["account"]["balance_uninvoiced"]
