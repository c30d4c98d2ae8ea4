"""The CUR -> FOCUS mapping: readable SQL in ``cur_mapping.sql`` plus its input shim.

``source_select`` turns one file's columns, whatever the layout, into the
relation ``src`` the SQL reads: every CUR 2.0 column in :data:`INPUTS` as
VARCHAR (NULL when absent), ``_tags`` (a list of key/value structs, the keys
already as the lake keeps them, so the MAP is built once), ``_cost_categories``
(a map),
``_product_name``, ``_region`` and ``_line`` (the row's number in its file).

* CUR 2.0 Parquet: snake_case columns; ``resource_tags``, ``cost_category``
  and ``product`` are maps.
* CUR 2.0 gzip CSV: the same names, the maps as JSON text.
* Legacy CUR CSV (GZIP or ZIP): ``lineItem/UnblendedCost`` style names, renamed
  here to the CUR 2.0 name (``line_item_unblended_cost``); tags are
  ``resourceTags/user:<key>`` / ``resourceTags/aws:<key>`` columns, cost
  categories ``costCategory/<name>`` columns.
* Legacy CUR Parquet: the CUR 2.0 snake_case names already; one column per
  tag key, ``resource_tags_user_<key>`` / ``resource_tags_aws_<key>`` (AWS
  lower-cases the key and turns other characters into ``_``: the original
  spelling is not in the file), and ``cost_category_<name>``.

Tag keys are read as AWS writes them in CUR 2.0 (``user:team``,
``aws:createdBy``) and lose ``user:``: a key from a column name while the query
is written (no work per row), a key from a map entry by entry.
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
    "product_region", "split_line_item_split_cost", "split_line_item_unused_cost",
    "split_line_item_parent_resource_id",
)
# INPUTS the SQL reads as decimals / timestamps: every value must parse.
MONEY_INPUTS: tuple[str, ...] = (
    "line_item_unblended_cost", "line_item_net_unblended_cost", "pricing_public_on_demand_cost",
    "line_item_usage_amount", "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date", "savings_plan_used_commitment",
    "reservation_effective_cost", "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee", "split_line_item_split_cost",
    "split_line_item_unused_cost",
)
TIME_INPUTS: tuple[str, ...] = (
    "line_item_usage_start_date", "line_item_usage_end_date",
    "bill_billing_period_start_date", "bill_billing_period_end_date",
)
# What the SQL's ``typed`` step calls each of them once parsed (TRY_CAST of the text,
# '' as NULL): the streaming check reads these, so a value is parsed once.
TYPED: dict[str, str] = {
    "line_item_unblended_cost": "unblended", "line_item_net_unblended_cost": "net_unblended",
    "pricing_public_on_demand_cost": "public_cost", "line_item_usage_amount": "usage_amount",
    "savings_plan_savings_plan_effective_cost": "sp_effective",
    "savings_plan_total_commitment_to_date": "sp_commitment",
    "savings_plan_used_commitment": "sp_used", "reservation_effective_cost": "ri_effective",
    "reservation_unused_amortized_upfront_fee_for_billing_period": "ri_unused_upfront",
    "reservation_unused_recurring_fee": "ri_unused_recurring",
    "split_line_item_split_cost": "split_cost", "split_line_item_unused_cost": "split_unused",
    "line_item_usage_start_date": "usage_start", "line_item_usage_end_date": "usage_end",
    "bill_billing_period_start_date": "period_start",
    "bill_billing_period_end_date": "period_end",
}

# Legacy names whose mechanical snake_case differs from CUR 2.0's.
LEGACY_ALIASES: dict[str, str] = {
    "reservation/ReservationARN": "reservation_reservation_a_r_n",
    "savingsPlan/SavingsPlanARN": "savings_plan_savings_plan_a_r_n",
}
LEGACY_TAG_PREFIX = "resourceTags/"
LEGACY_CATEGORY_PREFIX = "costCategory/"
# Legacy Parquet: one column per key, the key's source in the column name.
PARQUET_TAG_PREFIXES: tuple[tuple[str, str], ...] = (
    ("resource_tags_user_", "user:"), ("resource_tags_aws_", "aws:"))
PARQUET_CATEGORY_PREFIX = "cost_category_"
USER_PREFIX = "user:"  # a user-defined tag key's, dropped in the lake


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


def by_cur2_name(columns: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """CUR 2.0 name -> (the file's column, its DuckDB type)."""
    by_name: dict[str, tuple[str, str]] = {}
    for name, type_ in columns:
        by_name.setdefault(cur2_name(name), (name, type_))
    return by_name


def source_select(columns: list[tuple[str, str]], scan: str, line: str) -> str:
    """``SELECT`` building ``src`` from a scan whose columns are ``(name, duckdb type)``.

    ``line`` is the SQL of the row's number in its file.
    """
    by_name = by_cur2_name(columns)
    exprs = []
    for col in INPUTS:
        if col in by_name:
            exprs.append(f"CAST({ident(by_name[col][0])} AS VARCHAR) AS {col}")
        else:
            exprs.append(f"CAST(NULL AS VARCHAR) AS {col}")
    names = [n for n, _ in columns]
    exprs.append(f"{_tags_expr(by_name, _tag_columns(names))} AS _tags")
    exprs.append(f"{_map_expr(by_name, 'cost_category', _category_columns(names))} "
                 "AS _cost_categories")
    exprs.append(f"{_product_name_expr(by_name)} AS _product_name")
    exprs.append(f"{_region_expr(by_name)} AS _region")
    exprs.append(f"{line} AS _line")
    return f"SELECT {', '.join(exprs)} FROM {scan}"


def _lake_key(key: str) -> str:
    """A tag key as the lake keeps it: without ``user:``; AWS-defined keys keep ``aws:``."""
    return key[len(USER_PREFIX):] if key.startswith(USER_PREFIX) else key


def _tags_expr(by_name: dict[str, tuple[str, str]], per_key: list[tuple[str, str]]) -> str:
    """``_tags``: the resource tags as key/value structs, keys as :func:`_lake_key` makes
    them (for one column per key, while the query is written)."""
    if "resource_tags" in by_name or not per_key:
        return (f"list_transform({_entries_expr(by_name, 'resource_tags', [])}, lambda e: "
                f"{{'key': CASE WHEN starts_with(e.key, {literal(USER_PREFIX)}) "
                f"THEN substr(e.key, {len(USER_PREFIX) + 1}) ELSE e.key END, 'value': e.value}})")
    return _entries_expr(by_name, "resource_tags", [(n, _lake_key(k)) for n, k in per_key])


def _tag_columns(names: list[str]) -> list[tuple[str, str]]:
    """(file column, tag key as CUR 2.0 writes it) of one-column-per-key tags."""
    found = [(n, n[len(LEGACY_TAG_PREFIX):]) for n in names if n.startswith(LEGACY_TAG_PREFIX)]
    for n in names:
        for prefix, source in PARQUET_TAG_PREFIXES:
            if n.startswith(prefix) and len(n) > len(prefix):
                found.append((n, source + n[len(prefix):]))
    return found


def _category_columns(names: list[str]) -> list[tuple[str, str]]:
    found = [(n, n[len(LEGACY_CATEGORY_PREFIX):]) for n in names
             if n.startswith(LEGACY_CATEGORY_PREFIX)]
    found += [(n, n[len(PARQUET_CATEGORY_PREFIX):]) for n in names
              if n.startswith(PARQUET_CATEGORY_PREFIX) and len(n) > len(PARQUET_CATEGORY_PREFIX)]
    return found


def _map_expr(by_name: dict[str, tuple[str, str]], column: str,
              per_key: list[tuple[str, str]]) -> str:
    """A MAP from CUR 2.0's map column (Parquet map or CSV JSON) or one column per key."""
    if column in by_name or not per_key:
        return _one_map(by_name, column)
    return f"map_from_entries({_entries_expr(by_name, column, per_key)})"


def _entries_expr(by_name: dict[str, tuple[str, str]], column: str,
                  per_key: list[tuple[str, str]]) -> str:
    """The key/value structs of :func:`_map_expr`'s MAP (one column per key: no MAP built)."""
    if column in by_name or not per_key:
        return f"map_entries({_one_map(by_name, column)})"
    entries = ", ".join(
        f"{{'key': {literal(key)}, 'value': CAST({ident(n)} AS VARCHAR)}}" for n, key in per_key)
    return f"list_filter([{entries}], lambda e: e.value IS NOT NULL AND e.value <> '')"


def _one_map(by_name: dict[str, tuple[str, str]], column: str) -> str:
    """CUR 2.0's map column (Parquet map or CSV JSON) as a MAP; NULL when absent."""
    if column not in by_name:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    name, type_ = by_name[column]
    if type_.upper().startswith("MAP"):
        return f"CAST({ident(name)} AS MAP(VARCHAR, VARCHAR))"
    raw = f"NULLIF(trim(CAST({ident(name)} AS VARCHAR)), '')"
    return f"CAST(json({raw}) AS MAP(VARCHAR, VARCHAR))"


def _product_attr(by_name: dict[str, tuple[str, str]], key: str) -> list[str]:
    """``product[key]`` (Parquet map, or CSV JSON text), when the file has ``product``."""
    if "product" not in by_name:
        return []
    name, type_ = by_name["product"]
    if type_.upper().startswith("MAP"):
        return [f"CAST({ident(name)} AS MAP(VARCHAR, VARCHAR))[{literal(key)}]"]
    raw = f"NULLIF(trim(CAST({ident(name)} AS VARCHAR)), '')"
    return [f"json_extract_string({raw}, {literal('$.' + key)})"]


def _first_of(by_name: dict[str, tuple[str, str]], columns: tuple[str, ...],
              product_keys: tuple[str, ...]) -> str:
    """The first non-empty of ``columns``, then of the product map's ``product_keys``."""
    options = [f"NULLIF(CAST({ident(by_name[c][0])} AS VARCHAR), '')"
               for c in columns if c in by_name]
    for key in product_keys:
        options += _product_attr(by_name, key)
    return f"coalesce({', '.join(options)})" if options else "CAST(NULL AS VARCHAR)"


def _region_expr(by_name: dict[str, tuple[str, str]]) -> str:
    """``product_region_code``, else legacy ``product/region``, else the product map's."""
    return _first_of(by_name, ("product_region_code", "product_region"),
                     ("region_code", "region"))


def _product_name_expr(by_name: dict[str, tuple[str, str]]) -> str:
    return _first_of(by_name, ("product_product_name",), ("product_name",))


_LINE = "\n  _line,\n"  # the last SELECT's first column


@cache
def _mapping_text() -> str:
    text = (Path(__file__).with_name("cur_mapping.sql")).read_text(encoding="utf-8")
    assert text.count(_LINE) == 1, "cur_mapping.sql: the last SELECT starts with _line"
    return text


def mapping_sql(line: str = "_line") -> str:
    """The FOCUS mapping over ``src`` (the text of ``cur_mapping.sql``); ``line`` is the
    SQL of its ``_line`` column, which may read the ``typed`` values (:data:`TYPED`)."""
    return _mapping_text().replace(_LINE, f"\n  {line} AS _line,\n")
