from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rebill.config import load_config, secret_from_env
from rebill.errors import ConfigError
from rebill.flows.common import open_config
from rebill.money import minor_units, round12, round_money


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rebill.toml"
    path.write_text(text)
    return path


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REBILL_CONFIG", raising=False)
    cfg = load_config()
    assert cfg.rebill.currency == "USD"
    assert cfg.rebill.cost_basis == "billed"
    assert cfg.rebill.provider_tax == "exclude"
    assert cfg.rebill.group_by == ["provider", "service"]
    assert cfg.home == (tmp_path / "data").resolve()


def test_env_variable_selects_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[rebill]\ncurrency = "EUR"\n')
    monkeypatch.setenv("REBILL_CONFIG", str(path))
    assert load_config().rebill.currency == "EUR"


def test_design_example_tenant_parses(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
[rebill]
home = "h"
[sources.files]
type = "focus"
path = "exports/*.csv"
[fx]
path = "fx.csv"
[[tenants]]
id = "acme"
name = "Acme Corp"
currency = "EUR"
markup = "15%"
start = 2026-10-16
minimum = "50.00"
match = [{ tag = "tenant=acme" }, { account = "111111111111" }]
billing = { email = "billing@acme.example", fossbilling = 42 }
[[pricing]]
tenant = "acme"
provider = "AWS"
service = "Amazon S3"
markup = "0%"
[[shared]]
name = "Support"
match = [{ service = "AWS Support (Business)" }, { tag = "shared=true" }]
allocate = "proportional"
[[fees]]
tenant = "acme"
description = "Managed service"
amount = "100.00"
every = "month"
prorate = true
"""))
    acme = cfg.tenants[0]
    assert acme.markup == Decimal("0.15")
    assert acme.minimum == Decimal("50.00")
    assert cfg.fees[0].amount == Decimal("100.00")
    assert cfg.home == (tmp_path / "h").resolve()
    assert cfg.resolve(cfg.fx.path) == (tmp_path / "fx.csv").resolve()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[rebill]\ncurrencyy = "EUR"\n', "rebill.currencyy: unknown key"),
        ('[[tenants]]\nid = "a"\nmarkup = "15"\n', "tenants[0].markup"),
        ('[[tenants]]\nid = "a"\nminimum = "5x"\n', "tenants[0].minimum: '5x' is not a number"),
        ('[rebill]\ncost_basis = "net"\n', "rebill.cost_basis"),
        ('[sources.x]\ntype = "nope"\n', "sources.x.type: unknown source type 'nope'"),
        ('[sources.x]\ntype = "focus"\n', "sources.x.path"),
        ('[sources.x]\ntype = "focus"\npath = "a"\nbucket = "b"\n', "sources.x.bucket: unknown key"),
        ('[[tenants]]\nid = "a"\n[[tenants]]\nid = "a"\n', "tenant id 'a' appears twice"),
        ("[rebill\n", "not valid TOML"),
        ('[[tenants]]\nid = "a"\nlocale = "xx_YY"\n', "tenants[0].locale: unknown locale 'xx_YY'"),
        ('[issuer]\naddress = "x"\n', "issuer.name"),
        ('[issuer]\nname = "x"\nvat = "1"\n', "issuer.vat: unknown key"),
        ('[[tenants]]\nid = "a"\nbilling = { vat = "1" }\n', "tenants[0].billing.vat: unknown key"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    """Source options are checked by their connector when a run opens the config."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        open_config(path)
    msg = str(err.value)
    assert str(path) in msg and expected in msg
    assert "\n" not in msg


def test_toml_floats_are_read_exactly(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[[tenants]]\nid = "a"\nminimum = 50.10\n'))
    assert cfg.tenants[0].minimum == Decimal("50.10")


def test_secret_names_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOME_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="SOME_TOKEN is not set"):
        secret_from_env("SOME_TOKEN", "sources.do")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("2.345"), "USD", Decimal("2.35")),
        (Decimal("-2.345"), "USD", Decimal("-2.35")),
        (Decimal("2.344999"), "EUR", Decimal("2.34")),
        (Decimal("0.5"), "JPY", Decimal("1")),
        (Decimal("-0.5"), "JPY", Decimal("-1")),
        (Decimal("1.0005"), "KWD", Decimal("1.001")),
    ],
)
def test_round_money_half_away_from_zero(amount: Decimal, currency: str, expected: Decimal) -> None:
    assert round_money(amount, currency) == expected


def test_round12_and_minor_units() -> None:
    assert round12(Decimal("0.0000000000005")) == Decimal("0.000000000001")
    assert round12(Decimal("-0.0000000000005")) == Decimal("-0.000000000001")
    assert minor_units("usd") == 2 and minor_units("JPY") == 0


def test_parsing_a_config_has_no_side_effects(tmp_path: Path) -> None:
    """The core parses; it neither imports a stage nor registers a filesystem."""
    import subprocess
    import sys
    path = write(tmp_path, '[rebill]\nlake_uri = "s3://bucket/lake"\n[sources.x]\ntype = "focus"\npath = "a"\n')
    code = ("import sys; from pathlib import Path; from rebill.config import load_config; "
            f"load_config(Path({str(path)!r})); from rebill import duck; "
            "assert not duck._filesystems, duck._filesystems; "
            "assert not [m for m in sys.modules if m.startswith(('rebill.connectors', 'rebill.normalize'))]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_issuer_and_billing_keys(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
[issuer]
name = "Example Hosting Ltd"
address = "1 Main St\\nSpringfield"
tax_id = "GB123456789"
email = "billing@example-hosting.example"
logo = "logo.png"

[[tenants]]
id = "acme"
currency = "EUR"
locale = "fr_FR"
billing = { name = "Acme Corp GmbH", address = "...", tax_id = "DE123", email = "b@acme.example" }
"""))
    assert cfg.issuer is not None and cfg.issuer.tax_id == "GB123456789"
    assert cfg.issuer.payment_days == 30 and cfg.issuer.address == "1 Main St\nSpringfield"
    assert cfg.resolve(cfg.issuer.logo or "") == (tmp_path / "logo.png").resolve()
    [acme] = cfg.tenants
    assert (acme.billing.name, acme.billing.tax_id, acme.locale) == ("Acme Corp GmbH", "DE123",
                                                                     "fr_FR")
