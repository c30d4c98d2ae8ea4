"""Legacy CUR column names -> CUR 2.0 names (the mapping SQL reads CUR 2.0 names only)."""

from __future__ import annotations

import pytest

from rebill.connectors.aws.cur_mapping import INPUTS, cur2_name, is_legacy


@pytest.mark.parametrize(("legacy", "cur2"), [
    ("lineItem/UnblendedCost", "line_item_unblended_cost"),
    ("lineItem/NetUnblendedCost", "line_item_net_unblended_cost"),
    ("lineItem/LineItemType", "line_item_line_item_type"),
    ("lineItem/UsageAccountId", "line_item_usage_account_id"),
    ("bill/PayerAccountId", "bill_payer_account_id"),
    ("bill/BillingPeriodStartDate", "bill_billing_period_start_date"),
    ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
    ("product/regionCode", "product_region_code"),
    ("product/ProductName", "product_product_name"),
    ("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost"),
    ("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"),
    ("reservation/ReservationARN", "reservation_reservation_a_r_n"),
    ("reservation/EffectiveCost", "reservation_effective_cost"),
    ("line_item_unblended_cost", "line_item_unblended_cost"),  # already CUR 2.0
])
def test_legacy_names(legacy: str, cur2: str) -> None:
    assert cur2_name(legacy) == cur2


def test_every_input_is_a_cur2_name_and_legacy_is_detected() -> None:
    assert all("/" not in c and c == c.lower() for c in INPUTS)
    assert is_legacy(["identity/LineItemId", "bill/BillType"])
    assert not is_legacy(["identity_line_item_id"])
