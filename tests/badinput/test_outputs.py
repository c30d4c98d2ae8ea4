"""Customer files and billing targets: provider text cannot become a spreadsheet formula
or a control sequence; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from rebill.csvsafe import neutralize
from rebill.exporters.file import invoice_csv
from rebill.exporters.model import TITLE_MAX, Invoice, Line, clean_title
from tests.badinput.conftest import rebill

NEUTRALIZE = [
    ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-", "'-"),
    ("-12.50", "-12.50"),
    ("+3", "+3"),
    ("-0.000000000001", "-0.000000000001"),
    ("1e-5", "1e-5"),
    ("Amazon EC2", "Amazon EC2"),
    ("a=b", "a=b"),
    (Decimal("-12.50"), Decimal("-12.50")),
    (None, None),
]


@pytest.mark.parametrize(("cell", "expected"), NEUTRALIZE, ids=[repr(n[0]) for n in NEUTRALIZE])
def test_neutralize(cell: object, expected: object) -> None:
    assert neutralize(cell) == expected


def _line(description: str, amount: str, no: int = 1) -> Line:
    return Line(no, "usage", description, "AWS", "=cmd", Decimal(amount), "USD", True,
                Decimal(2), "@Hours")


def test_invoice_csv_neutralizes_text_and_keeps_amounts() -> None:
    inv = Invoice("acme", "2024-09", "USD", (
        _line('=HYPERLINK("http://evil","click")', "-12.50"), _line("fine", "3.00", 2)))
    rows = list(csv.DictReader(io.StringIO(invoice_csv(inv).decode())))
    assert rows[0]["description"] == "'=HYPERLINK(\"http://evil\",\"click\")"
    assert rows[0]["amount"] == "-12.50"
    assert rows[0]["service"] == "'=cmd" and rows[0]["unit"] == "'@Hours"
    assert rows[1]["description"] == "fine" and rows[1]["amount"] == "3.00"


@pytest.mark.parametrize(("text", "expected"), [
    ("EC2\x00\x1b[31m red", "EC2 [31m red"),
    ("line\nbreak\r\nand\ttab", "line break and tab"),
    ("bidi \u202eevil\u202c", "bidi evil"),
    ("  spaced   out  ", "spaced out"),
])
def test_titles_sent_to_billing_targets_are_clean(text: str, expected: str) -> None:
    assert clean_title(text) == expected


def test_titles_are_cut_to_the_target_limit_keeping_the_marker() -> None:
    inv = Invoice("acme", "2024-09", "USD", (_line("x" * 400 + "\x07", "1.00"),
                                             _line("y\n" * 300, "1.00", 2)))
    titles = inv.titles()
    assert all(len(t) <= TITLE_MAX for t in titles)
    assert titles[0].endswith(f"[{inv.marker}]")
    assert not any(c in "".join(titles) for c in "\x07\n")


def test_usage_and_invoice_files_from_hostile_provider_text(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    from tests.badinput.test_data import mutated

    data = mutated(ServiceName='=HYPERLINK("http://evil","x")', BilledCost="-12.5")
    (tmp_path / "exports" / "a.csv").write_bytes(data)
    cfg = tmp_path / "rebill.toml"
    cfg.write_text('[rebill]\nhome = "h"\n[sources.files]\ntype = "focus"\npath = "exports/*"\n'
                   '[[tenants]]\nid = "acme"\nmatch = [{ source = "files" }]\n')
    for args in (("ingest", "--engine", "local"), ("rate", "--period", "2024-09"),
                 ("report", "--period", "2024-09", "--out", str(tmp_path / "r")),
                 ("export", "--period", "2024-09", "--target", "file")):
        code, out, err = rebill(*args, "-c", str(cfg))
        assert code == 0, (args, out, err)
    written = [*(tmp_path / "r").rglob("*.csv"), *(tmp_path / "h" / "exports").rglob("*.csv")]
    assert len(written) >= 2
    for path in written:
        cells = [c for row in csv.reader(path.open()) for c in row]
        assert not any(c.startswith(("=", "@", "\t", "\r")) for c in cells), (path, cells)
        assert not any(c.startswith(("+", "-")) and not c.lstrip("+-").replace(".", "").isdigit()
                       for c in cells), path
        assert any(c.startswith("'=HYPERLINK") for c in cells), path
