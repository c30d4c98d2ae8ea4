"""Bad configurations: ``rebill check`` (and every command) refuses each in one line
naming the file and the key, before anything runs; stored data stays as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.badinput.conftest import one_line, rebill, stored

BASE = '[rebill]\nhome = "h"\n[sources.files]\ntype = "focus"\npath = "exports/*.csv"\n'
TENANT = '[[tenants]]\nid = "acme"\nmatch = [{ source = "files" }]\n'

# (case, text appended to a valid config, what the one line must say)
CASES = [
    ("source-id-slash", '[sources."../x"]\ntype = "focus"\npath = "a.csv"\n',
     "sources: source id '../x' is not safe"),
    ("source-id-dotdot", '[sources.".."]\ntype = "focus"\npath = "a.csv"\n', "is not safe"),
    ("source-id-quote", '[sources."a\'b"]\ntype = "focus"\npath = "a.csv"\n', "is not safe"),
    ("source-id-space", '[sources."a b"]\ntype = "focus"\npath = "a.csv"\n', "is not safe"),
    ("tenant-id-slash", '[[tenants]]\nid = "a/b"\n', "tenants[0].id: 'a/b' is not a safe id"),
    ("tenant-id-dot", '[[tenants]]\nid = "a.b"\n', "tenants[0].id: 'a.b' is not a safe id"),
    ("tenant-id-empty", '[[tenants]]\nid = ""\n', "tenants[0].id"),
    ("tenant-id-long", f'[[tenants]]\nid = "{"a" * 65}"\n', "is not a safe id"),
    ("pool-name-quote", '[[shared]]\nname = "x\'y"\nmatch = [{ source = "files" }]\n',
     "shared[0].name"),
    ("markup-below-minus-100", TENANT + 'markup = "-150%"\n', "tenants[0].markup: '-150%' is below -100%"),
    ("markup-not-percent", TENANT + 'markup = 15\n', "tenants[0].markup"),
    ("pricing-markup-below", '[[pricing]]\nprovider = "AWS"\nmarkup = "-101%"\n',
     "pricing[0].markup"),
    ("negative-minimum", TENANT + 'minimum = "-5.00"\n', "tenants[0].minimum: -5.00 must not be negative"),
    ("negative-budget", TENANT + 'budget = "-1"\n', "tenants[0].budget"),
    ("negative-fee", TENANT + '[[fees]]\ntenant = "acme"\ndescription = "x"\namount = "-3"\n',
     "fees[0]: amount -3 is negative: a credit needs credit = true"),
    ("credit-positive", TENANT + '[[fees]]\ntenant = "acme"\ndescription = "x"\namount = "3"\n'
     'credit = true\n', "credit = true needs a negative amount"),
    ("text-fee", TENANT + '[[fees]]\ntenant = "acme"\ndescription = "x"\namount = "abc"\n',
     "fees[0].amount"),
    ("unknown-match-source", '[[tenants]]\nid = "acme"\nmatch = [{ source = "nope" }]\n',
     "tenants[0].match[0].source: unknown source 'nope' (sources: files)"),
    ("unknown-pool-source", '[[shared]]\nname = "p"\nmatch = [{ source = "gone" }]\n',
     "shared[0].match[0].source: unknown source 'gone'"),
    ("cron-garbage", '[nightly]\ncron = "every night"\n', "nightly.cron: 'every night' is not a cron"),
    ("cron-minute-range", '[nightly]\ncron = "61 3 * * *"\n', "minute: 61 is outside 0-59"),
    ("cron-six-fields", '[nightly]\ncron = "0 0 3 * * *"\n', "expected 5 fields"),
    ("cron-bad-step", '[nightly]\ncron = "*/0 3 * * *"\n', "step"),
    ("cron-backwards", '[nightly]\ncron = "0 5-3 * * *"\n', "runs backwards"),
    ("timezone", '[nightly]\ntimezone = "Mars/Olympus"\n', "nightly.timezone: 'Mars/Olympus' is not"),
    ("timezone-path", '[nightly]\ntimezone = "../../etc/passwd"\n', "nightly.timezone"),
    ("memory-limit-sql", "[rebill]\n", ""),  # replaced below: home key twice is a TOML error
    ("currency", '[[tenants]]\nid = "acme"\ncurrency = "usd"\n', "tenants[0].currency"),
    ("close-day", "", ""),
    ("unknown-key", '[nightly]\ncrn = "0 3 * * *"\n', "nightly.crn: unknown key"),
    ("fee-unknown-every", TENANT + '[[fees]]\ntenant = "acme"\ndescription = "x"\namount = "3"\n'
     'every = "week"\n', "fees[0].every"),
]
# cases that need their own [rebill] table
REBILL = {
    "memory-limit-sql": ('[rebill]\nhome = "h"\nmemory_limit = "1GB\'; COPY x TO \'/tmp/y"\n',
                         "rebill.memory_limit: \"1GB'; COPY x TO '/tmp/y\" is not a size"),
    "close-day": ('[rebill]\nhome = "h"\nclose_day = 31\n', "rebill.close_day"),
}


def _write(tmp_path: Path, case: str, extra: str) -> Path:
    cfg = tmp_path / "rebill.toml"
    text = REBILL[case][0] + BASE.split("\n", 2)[2] if case in REBILL else BASE + extra
    cfg.write_text(text)
    return cfg


@pytest.mark.parametrize(("case", "extra", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_one_line(tmp_path: Path, case: str, extra: str, message: str) -> None:
    cfg = _write(tmp_path, case, extra)
    message = REBILL.get(case, ("", message))[1]
    code, out, err = rebill("check", "-c", str(cfg))
    assert code == 1, out
    line = one_line(err)
    assert line.startswith(f"error: {cfg}: "), line
    assert message in line, line
    assert not (tmp_path / "h").exists()  # refused before anything was created


def test_bad_config_leaves_a_loaded_home_untouched(loaded: Path) -> None:
    home = loaded.parent / "h"
    before = stored(home)
    loaded.write_text(loaded.read_text() + '[[tenants]]\nid = "x/../../y"\n')
    for args in (("ingest", "--engine", "local"), ("rate", "--period", "2024-09"), ("check",)):
        code, _, err = rebill(*args, "-c", str(loaded))
        assert code == 1 and "tenants[0].id" in one_line(err)
    assert stored(home) == before


def test_home_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "h").write_text("not a folder")
    cfg = _write(tmp_path, "home-file", "")
    for args in (("check",), ("sql", "SELECT 1"), ("ingest", "--engine", "local")):
        code, _, err = rebill(*args, "-c", str(cfg))
        assert code == 1
        assert f"rebill.home: {tmp_path / 'h'} is a file, not a folder" in one_line(err)


@pytest.mark.parametrize("period", ["26-1", "2026-1", "2026-13", "2026-00", "0000-01", "2026-01-01",
                                    "2026/01", " ", "２０２６-01"])
def test_period_options_accept_yyyy_mm_only(tmp_path: Path, period: str) -> None:
    cfg = _write(tmp_path, "period", "")
    for command in ("rate", "export", "report"):
        code, _, err = rebill(command, "--period", period, "-c", str(cfg))
        assert code != 0
        assert f"bad period {period!r}: expected YYYY-MM" in one_line(err), (command, err)


def test_credit_fee_is_accepted(tmp_path: Path) -> None:
    cfg = _write(tmp_path, "credit", TENANT + '[[fees]]\ntenant = "acme"\ndescription = "goodwill"\n'
                 'amount = "-10.00"\ncredit = true\n')
    (tmp_path / "exports").mkdir()
    code, _out, err = rebill("check", "-c", str(cfg))
    assert code == 0, err
