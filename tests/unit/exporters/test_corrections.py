"""Re-rated exported periods: refused on export, corrected on the next open period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rebill.config import Config
from rebill.errors import ExportError
from rebill.exporters import corrections_for, export_period
from rebill.exporters.corrections import rating_hook
from rebill.periods import Period
from tests.unit.exporters.conftest import LINES, write_lines

SEP, OCT, NOV = "2026-09", "2026-10", "2026-11"
ACME = [ln for ln in LINES if ln["tenant_id"] == "acme"]


def quiet(_: str) -> None:
    pass


def rerated(ec2: str, s3: str | None = "3.00") -> list[dict[str, Any]]:
    """September re-rated: EC2 changed, the fee gone, a new S3 line."""
    lines = [{**ACME[0], "amount": Decimal(ec2)}, ACME[1]]
    if s3:
        lines.append({**ACME[0], "line_no": 3, "description": "AWS Amazon S3",
                      "service": "Amazon S3", "amount": Decimal(s3), "quantity": None})
    return lines


def correction_rows(fixes: list[Any], start: int) -> list[dict[str, Any]]:
    return [{"tenant_id": "acme", "line_no": start + i, "kind": "correction",
             "description": c.description, "provider": c.provider, "service": c.service,
             "amount": c.amount, "currency": c.currency, "taxed": c.taxed,
             "quantity": None, "unit": None} for i, c in enumerate(fixes)]


@pytest.fixture
def exported_september(cfg: Config) -> Config:
    write_lines(cfg.home, SEP, ACME)
    export_period(cfg, SEP, echo=quiet)
    return cfg


def test_nothing_to_correct_when_unchanged(exported_september: Config) -> None:
    assert corrections_for(exported_september.home, exported_september, "acme", OCT) == []


def test_difference_per_line_goes_to_next_open_period(exported_september: Config) -> None:
    cfg = exported_september
    write_lines(cfg.home, SEP, rerated("1239.57"))
    fixes = corrections_for(cfg.home, cfg, "acme", OCT)
    assert [(c.description, c.amount, c.corrects) for c in fixes] == [
        ("Correction 2026-09: AWS Amazon EC2", Decimal("5.00"), SEP),
        ("Correction 2026-09: Managed service", Decimal("-100.00"), SEP),
        ("Correction 2026-09: AWS Amazon S3", Decimal("3.00"), SEP),
    ]
    assert {c.currency for c in fixes} == {"EUR"} and all(c.kind == "correction" for c in fixes)
    assert [c.taxed for c in fixes] == [True, False, True]
    # September itself cannot be exported again with other lines.
    with pytest.raises(ExportError, match="correction lines on the next open period"):
        export_period(cfg, SEP, echo=quiet)
    # Not in a later period while October is open with lines of its own.
    write_lines(cfg.home, OCT, ACME)
    assert corrections_for(cfg.home, cfg, "acme", NOV) == []


def test_exported_corrections_are_not_repeated(exported_september: Config) -> None:
    cfg = exported_september
    write_lines(cfg.home, SEP, rerated("1239.57"))
    fixes = corrections_for(cfg.home, cfg, "acme", OCT)
    write_lines(cfg.home, OCT, ACME + correction_rows(fixes, 4))
    export_period(cfg, OCT, echo=quiet)
    assert corrections_for(cfg.home, cfg, "acme", NOV) == []
    # Re-rating October keeps the corrections it was exported with.
    again = corrections_for(cfg.home, cfg, "acme", OCT)
    assert [(c.description, c.amount) for c in again] == [
        (c.description, c.amount) for c in fixes]
    # September changes once more: only the new difference is corrected, in November.
    write_lines(cfg.home, SEP, rerated("1241.57", s3=None))
    later = corrections_for(cfg.home, cfg, "acme", NOV)
    assert [(c.description, c.amount) for c in later] == [
        ("Correction 2026-09: AWS Amazon EC2", Decimal("2.00")),
        ("Correction 2026-09: AWS Amazon S3", Decimal("-3.00")),
    ]


def test_rating_hook_returns_rating_lines(exported_september: Config) -> None:
    cfg = exported_september
    write_lines(cfg.home, SEP, rerated("1239.57"))
    lines = list(rating_hook(cfg)(Period.parse(OCT), []))
    assert [(ln.tenant_id, ln.kind, ln.amount) for ln in lines] == [
        ("acme", "correction", Decimal("5.00")), ("acme", "correction", Decimal("-100.00")),
        ("acme", "correction", Decimal("3.00"))]
