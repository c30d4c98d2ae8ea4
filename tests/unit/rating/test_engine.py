"""Match language, FX errors, outputs (determinism, replace, crash), hooks and checks."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from rebill.errors import ConfigError, RatingError
from rebill.periods import Period
from rebill.rating import Line, check_config, rate_period, status
from rebill.rating.conservation import Conservation, check
from tests.unit.rating.lakebuild import lines_of, make_config, rate, row, tenant, write_lake

R = {"SubAccountId": "111", "BillingAccountId": "999", "ServiceName": "Amazon S3", "SkuId": "SKU1",
         "RegionId": "eu-west-1", "ResourceId": "arn:aws:s3:::bucket-7", "ChargeCategory": "Usage",
         "Tags": {"team": "red", "env": "prod"}, "x_source": "aws"}

MATCHES = [
    ({"provider": "AWS"}, True), ({"provider": "GCP"}, False),
    ({"source": "aws"}, True), ({"source": "gcp"}, False),
    ({"billing_account": "999"}, True), ({"account": "111"}, True), ({"account": "112"}, False),
    ({"service": "Amazon S3"}, True), ({"service": "amazon s3"}, False),
    ({"sku": "SKU1"}, True), ({"region": "eu-west-1"}, True), ({"region": "us-east-1"}, False),
    ({"resource": "arn:aws:s3:::bucket-*"}, True), ({"resource": "arn:aws:ec2:*"}, False),
    ({"charge_category": "Usage"}, True), ({"charge_category": "Credit"}, False),
    ({"tag": "team=red"}, True), ({"tag": "team=blue"}, False),
    ({"tag": "env"}, True), ({"tag": "owner"}, False),
    ({"provider": "AWS", "tag": "team=red"}, True), ({"provider": "AWS", "tag": "team=x"}, False),
]


@pytest.mark.parametrize(("entry", "matches"), MATCHES, ids=[str(m[0]) for m in MATCHES])
def test_match_language(tmp_path, entry, matches):
    result = rate(tmp_path, [row("2026-10-03", "1.00", **R)],
                  {"tenants": [tenant("t", {"account": "nope"}, entry)]})
    assert lines_of(result, "t") == ([("usage", "AWS Amazon S3", D("1.00"))] if matches else [])


def test_missing_fx_rate_names_pair_and_day(tmp_path):
    (tmp_path / "fx.csv").write_text("date,base,quote,rate\n2026-10-01,USD,EUR,0.9\n"
                                     "2026-10-09,EUR,USD,1.1\n")
    data = {"tenants": [tenant("t", {"account": "A"}, currency="EUR")], "fx": {"path": "fx.csv"}}
    # 2026-10-08 is exactly 7 days after the rate: fine; 10-09 is 8 days: the inverse row is
    # never used, so it is an error
    rate(tmp_path / "ok", [row("2026-10-08", "1", SubAccountId="A")], data | {"fx": {
        "path": str(tmp_path / "fx.csv")}})
    with pytest.raises(RatingError, match=r"no FX rate USD->EUR for 2026-10-09"):
        rate(tmp_path, [row("2026-10-09", "1", SubAccountId="A")], data)


def test_bad_fx_row_is_named(tmp_path):
    (tmp_path / "fx.csv").write_text("date,base,quote,rate\n2026-10-01,USD,EUR,abc\n")
    with pytest.raises(RatingError, match=r"fx.csv, row 2: bad rate 'abc'"):
        rate(tmp_path, [row("2026-10-02", "1", SubAccountId="A")],
             {"tenants": [tenant("t", {"account": "A"}, currency="EUR")], "fx": {"path": "fx.csv"}})


def test_rerate_is_byte_identical_and_replaces(tmp_path):
    rows = [row(f"2026-10-{d:02d}", f"{d}.125", SubAccountId="A" if d % 2 else "B")
            for d in range(1, 29)]
    data = {"tenants": [tenant("a", {"account": "A"}, markup="12.5%")],
            "shared": [{"name": "S", "match": [{"account": "B"}], "allocate": "even"}]}
    first = rate(tmp_path, rows, data)
    files = {p.name: p.read_bytes() for p in first.directory.iterdir()}
    # the lake untouched: every byte the same, the inputs fingerprint included
    second = rate_period(make_config(tmp_path, data), Period.parse("2026-10"))
    assert {p.name: p.read_bytes() for p in second.directory.iterdir()} == files
    # re-rating with another config replaces the outputs, nothing is appended
    third = rate(tmp_path, rows, {"tenants": [tenant("z", {"account": "A"})]})
    assert {ln.tenant_id for ln in third.lines} == {"z"}
    cfg = make_config(tmp_path, {"tenants": [tenant("z", {"account": "A"})]})
    report = status(cfg, Period.parse("2026-10"))
    assert [t.tenant_id for t in report.tenants] == ["z"]
    assert report.balanced


def test_failed_rate_leaves_previous_outputs(tmp_path):
    (tmp_path / "fx.csv").write_text("date,base,quote,rate\n")
    rows = [row("2026-10-03", "5.00", SubAccountId="A")]
    ok = rate(tmp_path, rows, {"tenants": [tenant("a", {"account": "A"})]})
    before = {p.name: p.read_bytes() for p in ok.directory.iterdir()}
    with pytest.raises(RatingError):
        rate(tmp_path, rows, {"tenants": [tenant("a", {"account": "A"}, currency="EUR")],
                              "fx": {"path": "fx.csv"}})
    assert {p.name: p.read_bytes() for p in ok.directory.iterdir()} == before
    assert not list((tmp_path / "home" / "tmp").iterdir())


def test_corrections_hook_appends_after_minimum(tmp_path):
    seen: list[Line] = []

    def corrections(period: Period, drafts):
        seen.extend(drafts)
        return [Line("a", "usage", "Correction 2026-09", D("-1.234"), "USD")]

    rows = [row("2026-10-03", "5.00", SubAccountId="A")]
    result = rate(tmp_path, rows,
                  {"tenants": [tenant("a", {"account": "A"}, minimum="10.00", taxable=False)]},
                  extra_lines=corrections)
    assert lines_of(result, "a") == [
        ("usage", "AWS Amazon EC2", D("5.00")),
        ("minimum", "Minimum commitment top-up", D("5.00")),
        ("correction", "Correction 2026-09", D("-1.23")),
    ]
    assert [ln.line_no for ln in result.lines] == [1, 2, 3]
    assert all(ln.taxed is False for ln in result.lines)
    assert [ln.kind for ln in seen] == ["usage", "minimum"]
    assert result.tenants[0].subtotal == D("8.77")


def test_conservation_violation_raises():
    bad = Conservation("USD", D("10"), D("5"), D("1"), D("1"), D("0"), 4, 4)
    with pytest.raises(RatingError, match="conservation violated for 2026-10 in USD"):
        check([bad], "2026-10")


@pytest.mark.parametrize(("extra", "message"), [
    ({"pricing": [{"tenant": "ghost", "markup": "1%"}]}, r"pricing\[0\].tenant: unknown tenant"),
    ({"fees": [{"tenant": "ghost", "description": "x", "amount": "1"}]}, r"fees\[0\].tenant"),
    ({"shared": [{"name": "S", "match": [{"service": "x"}], "allocate": "weights",
                  "weights": {"ghost": 1}}]}, r"shared\[0\].weights.ghost"),
    ({"shared": [{"name": "S", "match": [{"service": "x"}], "tenants": ["ghost"]}]},
     r"shared\[0\].tenants: unknown tenant 'ghost'"),
])
def test_check_unknown_tenants(tmp_path, extra, message):
    cfg = make_config(tmp_path, {"tenants": [tenant("a", {"account": "A"})], **extra})
    with pytest.raises(ConfigError, match=message):
        check_config(cfg)


def test_check_overlap_warning_has_examples(tmp_path):
    cfg = make_config(tmp_path, {"tenants": [tenant("a", {"account": "A"}),
                                             tenant("b", {"tag": "team=x"})]})
    write_lake(cfg.home, [row("2026-10-03", "1", SubAccountId="A", Tags={"team": "x"}),
                          row("2026-10-03", "1", SubAccountId="A")])
    warnings = check_config(cfg)
    assert len(warnings) == 1
    assert warnings[0].startswith("1 lake rows match tenants a, b")
    assert "src/r000001" in warnings[0]


def test_status_of_unrated_period(tmp_path: Path):
    cfg = make_config(tmp_path, {})
    with pytest.raises(RatingError, match="not rated yet"):
        status(cfg, Period.parse("2026-10"))


def test_rate_period_on_an_empty_lake(tmp_path):
    cfg = make_config(tmp_path, {"tenants": [tenant("a", minimum="31.00")]})
    result = rate_period(cfg, Period.parse("2026-10"))
    assert lines_of(result, "a") == [("minimum", "Minimum commitment top-up", D("31.00"))]
    assert result.conservation == []
