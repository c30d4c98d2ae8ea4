"""Table-driven cases, one or more per numbered rule of DESIGN "Rating semantics"."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.unit.rating.lakebuild import lines_of, rate, row, shares, tenant, unallocated

ACME = tenant("acme", {"account": "A"})
GLOBEX = tenant("globex", {"account": "G"})

# (id, rows, config, {tenant: [(kind, description, amount)]})
CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any], dict[str, list[Any]]]] = [
    # 1. Tax
    ("1-tax-excluded",
     [row("2026-10-03", "10.00", SubAccountId="A"),
      row("2026-10-03", "1.00", SubAccountId="A", ChargeCategory="Tax", ServiceName="Tax")],
     {"tenants": [tenant("acme", {"account": "A"}, markup="10%")]},
     {"acme": [("usage", "AWS Amazon EC2", D("11.00"))]}),
    ("1-tax-passthrough-at-cost",
     [row("2026-10-03", "10.00", SubAccountId="A"),
      row("2026-10-03", "1.00", SubAccountId="A", ChargeCategory="Tax", ServiceName="Tax")],
     {"rebill": {"provider_tax": "passthrough"},
      "tenants": [tenant("acme", {"account": "A"}, markup="10%")]},
     {"acme": [("usage", "AWS Amazon EC2", D("11.00")), ("usage", "AWS Tax", D("1.00"))]}),
    ("1-passthrough-tax-not-in-basis",
     [row("2026-10-03", "10.00", SubAccountId="A"),
      row("2026-10-03", "90.00", SubAccountId="A", ChargeCategory="Tax", ServiceName="Tax"),
      row("2026-10-03", "10.00", SubAccountId="G"),
      row("2026-10-03", "1.00", ServiceName="Support")],
     {"rebill": {"provider_tax": "passthrough"}, "tenants": [ACME, GLOBEX],
      "shared": [{"name": "Support", "match": [{"service": "Support"}]}]},
     {"acme": [("usage", "AWS Amazon EC2", D("10.00")), ("usage", "AWS Tax", D("90.00")),
               ("shared", "Shared: Support", D("0.50"))],
      "globex": [("usage", "AWS Amazon EC2", D("10.00")),
                 ("shared", "Shared: Support", D("0.50"))]}),
    # 2. Shared pools first, first pool in file order
    ("2-pool-before-tenant",
     [row("2026-10-03", "10.00", SubAccountId="A"),
      row("2026-10-03", "4.00", SubAccountId="A", ServiceName="Support")],
     {"tenants": [ACME, GLOBEX],
      "shared": [{"name": "First", "match": [{"service": "Support"}], "allocate": "even"},
                 {"name": "Second", "match": [{"account": "A"}], "allocate": "even"}]},
     # the 4.00 row matches both pools (First wins); the 10.00 row goes to Second, not acme
     {"acme": [("shared", "Shared: First", D("2.00")), ("shared", "Shared: Second", D("5.00"))],
      "globex": [("shared", "Shared: First", D("2.00")), ("shared", "Shared: Second", D("5.00"))]}),
    # 3. Tenants: first in file order, inactive does not stop the search, windows
    ("3-first-tenant-wins",
     [row("2026-10-03", "5.00", SubAccountId="A", Tags={"team": "x"})],
     {"tenants": [tenant("first", {"tag": "team=x"}), tenant("second", {"account": "A"})]},
     {"first": [("usage", "AWS Amazon EC2", D("5.00"))], "second": []}),
    ("3-inactive-does-not-stop-search",
     [row("2026-10-03", "5.00", SubAccountId="A"), row("2026-10-20", "7.00", SubAccountId="A")],
     {"tenants": [tenant("late", {"account": "A"}, start="2026-10-20"),
                  tenant("fallback", {"account": "A"})]},
     {"late": [("usage", "AWS Amazon EC2", D("7.00"))],
      "fallback": [("usage", "AWS Amazon EC2", D("5.00"))]}),
    ("3-end-exclusive-start-inclusive",
     [row("2026-10-09", "1.00", SubAccountId="A"), row("2026-10-10", "2.00", SubAccountId="A"),
      row("2026-10-19", "4.00", SubAccountId="A"), row("2026-10-20", "8.00", SubAccountId="A")],
     {"tenants": [tenant("acme", {"account": "A"}, start="2026-10-10", end="2026-10-20")]},
     {"acme": [("usage", "AWS Amazon EC2", D("6.00"))]}),
    # 4. Allocation
    ("4-even-remainder-to-first",
     [row("2026-10-03", "1.00", ServiceName="Support")],
     {"tenants": [tenant("a"), tenant("b"), tenant("c")],
      "shared": [{"name": "S", "match": [{"service": "Support"}], "allocate": "even"}]},
     {"a": [("shared", "Shared: S", D("0.33"))], "b": [("shared", "Shared: S", D("0.33"))],
      "c": [("shared", "Shared: S", D("0.33"))]}),
    ("4-weights",
     [row("2026-10-03", "10.00", ServiceName="Support")],
     {"tenants": [tenant("a"), tenant("b")],
      "shared": [{"name": "S", "match": [{"service": "Support"}], "allocate": "weights",
                  "weights": {"a": "3", "b": "1"}}]},
     {"a": [("shared", "Shared: S", D("7.50"))], "b": [("shared", "Shared: S", D("2.50"))]}),
    ("4-proportional-nonpositive-basis-gets-nothing",
     [row("2026-10-03", "1.00", SubAccountId="A"), row("2026-10-04", "2.00", SubAccountId="G"),
      row("2026-10-04", "-1.00", SubAccountId="N", ChargeCategory="Credit"),
      row("2026-10-05", "3.00", ServiceName="Support")],
     {"tenants": [ACME, GLOBEX, tenant("neg", {"account": "N"})],
      "shared": [{"name": "S", "match": [{"service": "Support"}]}]},
     {"acme": [("usage", "AWS Amazon EC2", D("1.00")), ("shared", "Shared: S", D("1.00"))],
      "globex": [("usage", "AWS Amazon EC2", D("2.00")), ("shared", "Shared: S", D("2.00"))],
      "neg": [("usage", "AWS Amazon EC2", D("-1.00"))]}),
    ("4-only-tenants-active-that-day",
     [row("2026-10-03", "6.00", ServiceName="Support"),
      row("2026-10-25", "6.00", ServiceName="Support")],
     {"tenants": [tenant("a"), tenant("b", start="2026-10-20")],
      "shared": [{"name": "S", "match": [{"service": "Support"}], "allocate": "even"}]},
     {"a": [("shared", "Shared: S", D("9.00"))], "b": [("shared", "Shared: S", D("3.00"))]}),
    ("4-basis-in-the-row-currency-only",
     [row("2026-10-03", "5.00", SubAccountId="A"),
      row("2026-10-03", "5.00", SubAccountId="G", BillingCurrency="EUR"),
      row("2026-10-03", "2.00", ServiceName="Support")],
     {"tenants": [ACME, GLOBEX], "fx": {"path": "fx.csv"},
      "shared": [{"name": "S", "match": [{"service": "Support"}], "tenants": ["acme", "globex"]}]},
     {"acme": [("usage", "AWS Amazon EC2", D("5.00")), ("shared", "Shared: S", D("2.00"))],
      "globex": [("usage", "AWS Amazon EC2", D("5.50"))]}),
    # 5. Pricing specificity
    ("5-global-service-rule-beats-tenant-markup",
     [row("2026-10-03", "100.00", SubAccountId="A"),
      row("2026-10-03", "100.00", SubAccountId="A", ServiceName="Amazon S3")],
     {"tenants": [tenant("acme", {"account": "A"}, markup="15%")],
      "pricing": [{"service": "Amazon EC2", "markup": "5%"}]},
     {"acme": [("usage", "AWS Amazon EC2", D("105.00")), ("usage", "AWS Amazon S3", D("115.00"))]}),
    ("5-tenant-rule-beats-global-same-keys-even-if-earlier",
     [row("2026-10-03", "100.00", SubAccountId="A")],
     {"tenants": [tenant("acme", {"account": "A"}, markup="15%")],
      "pricing": [{"tenant": "acme", "service": "Amazon EC2", "markup": "1%"},
                  {"service": "Amazon EC2", "markup": "2%"}]},
     {"acme": [("usage", "AWS Amazon EC2", D("101.00"))]}),
    ("5-more-keys-win-then-later-in-file",
     [row("2026-10-03", "100.00", SubAccountId="A")],
     {"tenants": [tenant("acme", {"account": "A"})],
      "pricing": [{"provider": "AWS", "service": "Amazon EC2", "markup": "7%"},
                  {"tenant": "acme", "service": "Amazon EC2", "markup": "3%"},
                  {"provider": "AWS", "service": "Amazon EC2", "markup": "8%"}]},
     {"acme": [("usage", "AWS Amazon EC2", D("108.00"))]}),
    ("5-tenant-rule-without-keys-beats-own-markup-global-does-not",
     [row("2026-10-03", "100.00", SubAccountId="A"), row("2026-10-03", "100.00", SubAccountId="G")],
     {"tenants": [tenant("acme", {"account": "A"}, markup="10%"),
                  tenant("globex", {"account": "G"}, markup="10%")],
      "pricing": [{"markup": "50%"}, {"tenant": "acme", "markup": "-5%"}]},
     {"acme": [("usage", "AWS Amazon EC2", D("95.00"))],
      "globex": [("usage", "AWS Amazon EC2", D("110.00"))]}),
    ("5-credits-priced-like-any-row",
     [row("2026-10-03", "100.00", SubAccountId="A"),
      row("2026-10-03", "-40.00", SubAccountId="A", ChargeCategory="Credit")],
     {"tenants": [tenant("acme", {"account": "A"}, markup="10%")]},
     {"acme": [("usage", "AWS Amazon EC2", D("66.00"))]}),
    ("5-cost-basis-effective",
     [row("2026-10-03", "100.00", SubAccountId="A", EffectiveCost=D("80.00"), ListCost=D("120"))],
     {"rebill": {"cost_basis": "effective"}, "tenants": [tenant("acme", {"account": "A"})]},
     {"acme": [("usage", "AWS Amazon EC2", D("80.00"))]}),
    ("5-cost-basis-list",
     [row("2026-10-03", "100.00", SubAccountId="A", EffectiveCost=D("80.00"), ListCost=D("120"))],
     {"rebill": {"cost_basis": "list"}, "tenants": [tenant("acme", {"account": "A"})]},
     {"acme": [("usage", "AWS Amazon EC2", D("120.00"))]}),
    # 6. Currency
    ("6-fx-same-day-and-lookback",
     [row("2026-10-05", "100.00", SubAccountId="A"), row("2026-10-12", "100.00", SubAccountId="A")],
     {"tenants": [tenant("acme", {"account": "A"}, currency="EUR")], "fx": {"path": "fx.csv"}},
     # 10-05 uses 0.90 (same day); 10-12 uses 10-05's 0.90 (7 days back, 10-13 is later)
     {"acme": [("usage", "AWS Amazon EC2", D("180.00"))]}),
    ("6-fx-markup-then-rate-rounded-once",
     [row("2026-10-06", "0.10", SubAccountId="A")] * 3,
     {"tenants": [tenant("acme", {"account": "A"}, currency="EUR", markup="15%")],
      "fx": {"path": "fx.csv"}},
     # 0.10 * 1.15 * 0.90 = 0.1035 each; 3 rows = 0.3105 -> 0.31
     {"acme": [("usage", "AWS Amazon EC2", D("0.31"))]}),
    # 7. Lines
    ("7-rounded-once-per-line",
     [row("2026-10-03", "0.004", SubAccountId="A")] * 3,
     {"tenants": [ACME]}, {"acme": [("usage", "AWS Amazon EC2", D("0.01"))]}),
    ("7-half-away-from-zero-and-zero-lines-dropped",
     [row("2026-10-03", "0.005", SubAccountId="A"),
      row("2026-10-03", "-0.005", SubAccountId="A", ServiceName="Amazon S3"),
      row("2026-10-03", "0.004", SubAccountId="A", ServiceName="Amazon SQS")],
     {"tenants": [ACME]},
     {"acme": [("usage", "AWS Amazon EC2", D("0.01")), ("usage", "AWS Amazon S3", D("-0.01"))]}),
    ("7-group-by-other-keys",
     [row("2026-10-03", "1.00", SubAccountId="A"),
      row("2026-10-03", "2.00", SubAccountId="A", RegionId="eu-west-1"),
      row("2026-10-03", "4.00", SubAccountId="A", ServiceName="Amazon S3")],
     {"rebill": {"group_by": ["service", "region"]}, "tenants": [ACME]},
     {"acme": [("usage", "Amazon EC2 eu-west-1", D("2.00")),
               ("usage", "Amazon EC2 us-east-1", D("1.00")),
               ("usage", "Amazon S3 us-east-1", D("4.00"))]}),
    # 8. Fees
    ("8-fees-month-prorated-full-once",
     [row("2026-10-20", "1.00", SubAccountId="A")],
     {"tenants": [tenant("acme", {"account": "A"}, start="2026-10-16")],
      "fees": [{"tenant": "acme", "description": "Managed", "amount": "100.00", "prorate": True},
               {"tenant": "acme", "description": "Flat", "amount": "20.00"},
               {"tenant": "acme", "description": "Setup", "amount": "50.00", "every": "once",
                "date": "2026-10-02"},
               {"tenant": "acme", "description": "Later", "amount": "50.00", "every": "once",
                "date": "2026-11-02"}]},
     # 100 * 16 / 31 = 51.6129... -> 51.61
     {"acme": [("usage", "AWS Amazon EC2", D("1.00")), ("fee", "Managed", D("51.61")),
               ("fee", "Flat", D("20.00")), ("fee", "Setup", D("50.00"))]}),
    ("8-no-monthly-fee-without-an-active-day",
     [], {"tenants": [tenant("gone", end="2026-10-01")],
          "fees": [{"tenant": "gone", "description": "Managed", "amount": "100.00"}]},
     {"gone": []}),
    # 9. Minimum
    ("9-minimum-prorated-top-up",
     [row("2026-10-20", "10.00", SubAccountId="A")],
     {"tenants": [tenant("acme", {"account": "A"}, start="2026-10-16", minimum="50.00")]},
     # 50 * 16 / 31 = 25.806... -> 25.81; 25.81 - 10.00 = 15.81
     {"acme": [("usage", "AWS Amazon EC2", D("10.00")),
               ("minimum", "Minimum commitment top-up", D("15.81"))]}),
    ("9-minimum-counts-fees-no-top-up-when-above",
     [row("2026-10-20", "10.00", SubAccountId="A")],
     {"tenants": [tenant("acme", {"account": "A"}, minimum="30.00")],
      "fees": [{"tenant": "acme", "description": "Managed", "amount": "20.00"}]},
     {"acme": [("usage", "AWS Amazon EC2", D("10.00")), ("fee", "Managed", D("20.00"))]}),
    # 10. Invoice order: usage by description, shared by pool order, fees, minimum
    ("10-line-order",
     [row("2026-10-03", "3.00", SubAccountId="A", ServiceName="Amazon S3"),
      row("2026-10-03", "1.00", SubAccountId="A", ServiceName="Amazon EC2"),
      row("2026-10-03", "2.00", ServiceName="Zeta"), row("2026-10-03", "2.00", ServiceName="Alpha")],
     {"tenants": [tenant("acme", {"account": "A"}, minimum="100.00")],
      "shared": [{"name": "Zeta-pool", "match": [{"service": "Zeta"}]},
                 {"name": "Alpha-pool", "match": [{"service": "Alpha"}]}],
      "fees": [{"tenant": "acme", "description": "B fee", "amount": "5.00"},
               {"tenant": "acme", "description": "A fee", "amount": "5.00"}]},
     {"acme": [("usage", "AWS Amazon EC2", D("1.00")), ("usage", "AWS Amazon S3", D("3.00")),
               ("shared", "Shared: Zeta-pool", D("2.00")),
               ("shared", "Shared: Alpha-pool", D("2.00")),
               ("fee", "B fee", D("5.00")), ("fee", "A fee", D("5.00")),
               ("minimum", "Minimum commitment top-up", D("82.00"))]}),
]

FX = """date,base,quote,rate
2026-10-05,USD,EUR,0.90
2026-10-13,USD,EUR,0.95
2026-10-01,EUR,USD,1.10
2026-10-03,EUR,USD,1.10
"""


@pytest.mark.parametrize(("rows", "data", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(tmp_path, rows, data, expected):
    (tmp_path / "fx.csv").write_text(FX)
    result = rate(tmp_path, rows, data)
    for tid, lines in expected.items():
        assert lines_of(result, tid) == lines
    for c in result.conservation:
        assert c.ok


def test_even_split_remainder_goes_to_first_tenant_in_file_order(tmp_path):
    rows = [row("2026-10-03", "1.00", ServiceName="Support"),
            row("2026-10-04", "-1.00", ServiceName="Support", ChargeCategory="Credit")]
    data = {"tenants": [tenant("b"), tenant("a"), tenant("c")],
            "shared": [{"name": "S", "match": [{"service": "Support"}], "allocate": "even"}]}
    result = rate(tmp_path, rows[:1], data)
    assert shares(result) == {"b": D("0.333333333334"), "a": D("0.333333333333"),
                              "c": D("0.333333333333")}
    result = rate(tmp_path / "neg", rows[1:], data)
    assert shares(result) == {"b": D("-0.333333333334"), "a": D("-0.333333333333"),
                              "c": D("-0.333333333333")}


def test_remainder_goes_to_largest_share(tmp_path):
    # 1.00 split 1:2 -> 0.333333333333 + 0.666666666667 = 1.000000000000 (no remainder);
    # 0.10 split 1:1:1 -> 0.033333333333 x3, remainder 0.000000000001 to the first
    rows = [row("2026-10-03", "1.00", SubAccountId="A"), row("2026-10-03", "2.00", SubAccountId="G"),
            row("2026-10-05", "1.00", ServiceName="Support")]
    data = {"tenants": [ACME, GLOBEX], "shared": [{"name": "S", "match": [{"service": "Support"}]}]}
    result = rate(tmp_path, rows, data)
    assert shares(result) == {"acme": D("0.333333333333"), "globex": D("0.666666666667")}
    # 3 units of 1e-12 by weights 1:1:2 -> 0.75, 0.75, 1.5 -> 1, 1, 2 (sum 4); the
    # remainder -1 goes to the largest share (c), not to the first tenant
    rows = [row("2026-10-05", "0.000000000003", ServiceName="Support")]
    data = {"tenants": [tenant("a"), tenant("b"), tenant("c")],
            "shared": [{"name": "S", "match": [{"service": "Support"}], "allocate": "weights",
                        "weights": {"a": "1", "b": "1", "c": "2"}}]}
    result = rate(tmp_path / "b", rows, data)
    assert shares(result) == {"a": D("1E-12"), "b": D("1E-12"), "c": D("1E-12")}


def test_unallocated_reasons(tmp_path):
    rows = [row("2026-10-03", "1.00", SubAccountId="Z"),
            row("2026-10-03", "2.00", SubAccountId="A"),
            row("2026-10-03", "4.00", ServiceName="Support")]
    data = {"tenants": [tenant("acme", {"account": "A"}, start="2026-10-15")],
            "shared": [{"name": "S", "match": [{"service": "Support"}]}]}
    result = rate(tmp_path, rows, data)
    reasons = {r["cost"]: r["reason"] for r in unallocated(result)}
    assert reasons == {
        D("1.00"): "no tenant or shared pool matches",
        D("2.00"): "matching tenant not active on the day",
        D("4.00"): "shared pool S: no tenant active on the day with a positive weight or basis",
    }
    assert result.unallocated == {"USD": D("7.00")}
    assert result.lines == []


def test_docs_worked_example(tmp_path):
    """The worked example of docs/rating.md."""
    (tmp_path / "fx.csv").write_text("date,base,quote,rate\n2026-10-15,USD,EUR,0.90\n")
    rows = [row("2026-10-10", "100.00", SubAccountId="A"),
            row("2026-10-20", "100.00", SubAccountId="A"),
            row("2026-10-20", "10.00", SubAccountId="A", ServiceName="Amazon S3"),
            row("2026-10-20", "1.00", ServiceName="Support")]
    data = {"fx": {"path": "fx.csv"},
            "tenants": [tenant("acme", {"account": "A"}, markup="15%", start="2026-10-16",
                               minimum="50.00", currency="EUR"), GLOBEX],
            "pricing": [{"service": "Amazon S3", "markup": "5%"}],
            "shared": [{"name": "Support", "match": [{"service": "Support"}], "allocate": "even"}]}
    result = rate(tmp_path, rows, data)
    assert lines_of(result, "acme") == [("usage", "AWS Amazon EC2", D("103.50")),
                                        ("usage", "AWS Amazon S3", D("9.45")),
                                        ("shared", "Shared: Support", D("0.52"))]
    (c,) = result.conservation
    assert (c.attributed, c.pooled, c.unallocated, c.lake) == (
        D("110.00"), D("1.00"), D("100.00"), D("211.00"))
