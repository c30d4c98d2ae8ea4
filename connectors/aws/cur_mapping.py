"""The CUR -> FOCUS mapping: readable SQL in ``cur_mapping.sql`` plus its input shim.

``source_select`` turns one file's columns, whatever the layout, into the
relation ``src`` the SQL reads: every CUR 2.0 column in :data:`INPUTS` as
VARCHAR (NULL when absent), ``_tags`` and ``_product_name``.

* CUR 2.0 Parquet: snake_case columns, ``resource_tags`` and ``product`` are maps.
* CUR 2.0 gzip CSV: the same names, the two maps as JSON text.
* Legacy CUR CSV: ``lineItem/UnblendedCost`` style names, renamed here to the
  CUR 2.0 name (``line_item_unblended_cost``); tags are ``resourceTags/user:x``
  columns.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from rebill.sql import ident, literal

INPUTS: tuple[str, ...] = (
    "bill_bill_type", "bill_billing_entity", "bill_billing_period_end_date",
    "bill_billing_period_start_date", "bill_invoice_id", "bill_invoicing_entity",
    "bill_payer_account_id", "bill_payer_account_name",
    "line_item_availability_zone", "line_item_currency_code", "line_item_legal_entity",
    "line_item_line_item_description", "line_item_line_item_type",
    "line_item_net_unblended_cost", "line_item_product_code", "line_item_resource_id",
    "line_item_tax_type", "line_item_unblended_cost", "line_item_usage_account_id",
    "line_item_usage_account_name", "line_item_usage_amount", "line_item_usage_end_date",
    "line_item_usage_start_date", "line_item_usage_type",
    "pricing_public_on_demand_cost", "pricing_rate_id", "pricing_term", "pricing_unit",
    "product_location", "product_product_name", "product_region_code",
    "product_servicecode", "product_sku",
    "reservation_effective_cost", "reservation_reservation_a_r_n",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_a_r_n", "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date", "savings_plan_used_commitment",
)

# Legacy names whose mechanical snake_case differs from CUR 2.0's.
LEGACY_ALIASES: dict[str, str] = {
    "reservation/ReservationARN": "reservation_reservation_a_r_n",
    "savingsPlan/SavingsPlanARN": "savings_plan_savings_plan_a_r_n",
}
LEGACY_TAG_PREFIX = "resourceTags/"


def _snake(text: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text).lower()


def cur2_name(column: str) -> str:
    """CUR 2.0 name of a CUR column (``lineItem/UnblendedCost`` -> ``line_item_unblended_cost``)."""
    if column in LEGACY_ALIASES:
        return LEGACY_ALIASES[column]
    if "/" in column:
        category, _, name = column.partition("/")
        return f"{_snake(category)}_{_snake(name)}"
    return column


def is_legacy(columns: list[str]) -> bool:
    return any("/" in c for c in columns)


def source_select(columns: list[tuple[str, str]], scan: str) -> str:
    """``SELECT`` building ``src`` from a scan whose columns are ``(name, duckdb type)``."""
    by_name: dict[str, tuple[str, str]] = {}
    for name, type_ in columns:
        by_name.setdefault(cur2_name(name), (name, type_))
    exprs = []
    for col in INPUTS:
        if col in by_name:
            exprs.append(f"CAST({ident(by_name[col][0])} AS VARCHAR) AS {col}")
        else:
            exprs.append(f"CAST(NULL AS VARCHAR) AS {col}")
    exprs.append(f"{_tags_expr(columns, by_name)} AS _tags")
    exprs.append(f"{_product_name_expr(by_name)} AS _product_name")
    return f"SELECT {', '.join(exprs)} FROM {scan}"


def _tags_expr(columns: list[tuple[str, str]], by_name: dict[str, tuple[str, str]]) -> str:
    if "resource_tags" in by_name:
        name, type_ = by_name["resource_tags"]
        if type_.upper().startswith("MAP"):
            return f"CAST({ident(name)} AS MAP(VARCHAR, VARCHAR))"
        raw = f"NULLIF(trim(CAST({ident(name)} AS VARCHAR)), '')"
        return f"CAST(json({raw}) AS MAP(VARCHAR, VARCHAR))"
    legacy = [n for n, _ in columns if n.startswith(LEGACY_TAG_PREFIX)]
    if not legacy:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    entries = ", ".join(
        f"{{'key': {literal(n[len(LEGACY_TAG_PREFIX):])}, 'value': CAST({ident(n)} AS VARCHAR)}}"
        for n in legacy
    )
    return (
        f"map_from_entries(list_filter([{entries}], "
        "lambda e: e.value IS NOT NULL AND e.value <> ''))"
    )


def _product_name_expr(by_name: dict[str, tuple[str, str]]) -> str:
    options: list[str] = []
    if "product_product_name" in by_name:
        options.append(f"CAST({ident(by_name['product_product_name'][0])} AS VARCHAR)")
    if "product" in by_name:
        name, type_ = by_name["product"]
        if type_.upper().startswith("MAP"):
            options.append(f"CAST({ident(name)} AS MAP(VARCHAR, VARCHAR))['product_name']")
        else:
            raw = f"NULLIF(trim(CAST({ident(name)} AS VARCHAR)), '')"
            options.append(f"json_extract_string({raw}, '$.product_name')")
    return f"coalesce({', '.join(options)})" if options else "CAST(NULL AS VARCHAR)"


@cache
def mapping_sql() -> str:
    """The FOCUS mapping over ``src`` (the text of ``cur_mapping.sql``)."""
    return (Path(__file__).with_name("cur_mapping.sql")).read_text(encoding="utf-8")
