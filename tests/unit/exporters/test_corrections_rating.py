"""End to end with the real rating engine: a late cost in an exported month
becomes a correction line on the next invoice, through the rating hook."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rebill.errors import ExportError
from rebill.exporters import export_period
from rebill.exporters.corrections import rating_hook
from rebill.normalize.catalog import connect
from rebill.periods import Period
from rebill.rating import rate_period
from tests.unit.rating.lakebuild import make_config, row, write_lake

CONFIG = {"tenants": [{"id": "acme", "markup": "10%", "match": [{"account": "acct"}]}]}


def quiet(_: str) -> None:
    pass


def lines(home: Path, period: str) -> list[tuple[str, str, Decimal]]:
    con = connect(home)
    out = con.execute("SELECT kind, description, amount FROM invoice_lines WHERE period = ? "
                      "ORDER BY line_no", [period]).fetchall()
    con.close()
    return [(k, d, Decimal(a)) for k, d, a in out]


def test_late_cost_is_corrected_on_the_next_invoice(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, CONFIG)
    hook = rating_hook(cfg)
    sept = [row("2026-09-10", "100.00")]
    octo = [row("2026-10-03", "50.00")]
    write_lake(cfg.home, sept + octo)
    rate_period(cfg, Period.parse("2026-09"), extra_lines=hook)
    export_period(cfg, "2026-09", echo=quiet)

    # A late September cost arrives; September is re-rated.
    write_lake(cfg.home, [*sept, row("2026-09-20", "20.00", x_row_id="late")])
    rate_period(cfg, Period.parse("2026-09"), extra_lines=hook)
    assert lines(cfg.home, "2026-09") == [("usage", "AWS Amazon EC2", Decimal("132.00"))]
    with pytest.raises(ExportError, match="next open period"):
        export_period(cfg, "2026-09", echo=quiet)

    rate_period(cfg, Period.parse("2026-10"), extra_lines=hook)
    assert lines(cfg.home, "2026-10") == [
        ("usage", "AWS Amazon EC2", Decimal("55.00")),
        ("correction", "Correction 2026-09: AWS Amazon EC2", Decimal("22.00")),
    ]
    export_period(cfg, "2026-10", echo=quiet)
    # Re-rating October keeps its exported correction; November gets none.
    rate_period(cfg, Period.parse("2026-10"), extra_lines=hook)
    assert export_period(cfg, "2026-10", echo=quiet).skipped == ["acme"]
    write_lake(cfg.home, [*sept, row("2026-09-20", "20.00", x_row_id="late"),
                          *octo, row("2026-11-02", "10.00")])
    rate_period(cfg, Period.parse("2026-11"), extra_lines=hook)
    assert lines(cfg.home, "2026-11") == [("usage", "AWS Amazon EC2", Decimal("11.00"))]
