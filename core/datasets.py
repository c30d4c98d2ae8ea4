"""Schemas of the rated outputs and the export ledger (the catalog's contract).

Rating writes ``rated_costs``, ``unallocated``, ``invoice_lines`` and
``invoices`` (drafts) as Parquet files named ``<name>.parquet`` in
``<home>/rated/period=YYYY-MM/``; exporters write the ledger. The views in
:mod:`normalize.catalog` read exactly these columns.
"""

from __future__ import annotations

import pyarrow as pa

from rebill.schema import MONEY_ARROW, TS_ARROW

LINE_MONEY = pa.decimal128(18, 2)

RATED_COSTS = pa.schema([
    ("tenant_id", pa.string()),
    ("period", pa.string()),
    ("x_row_id", pa.string()),
    ("x_source", pa.string()),
    ("day", pa.date32()),
    ("kind", pa.string()),  # usage | shared
    ("pool", pa.string()),
    ("pricing_rule", pa.string()),
    ("provider", pa.string()),
    ("service", pa.string()),
    ("charge_category", pa.string()),
    ("line_key", pa.string()),  # the group_by values joined, for lineage to invoice_lines
    ("cost", MONEY_ARROW),  # billing currency, before markup
    ("markup", MONEY_ARROW),
    ("rated", MONEY_ARROW),  # after markup, billing currency
    ("currency", pa.string()),  # billing currency
    ("fx_rate", MONEY_ARROW),
    ("amount", MONEY_ARROW),  # tenant currency, unrounded (12 decimals)
    ("tenant_currency", pa.string()),
])

# Per (tenant, day, kind, pool, provider, service, currency): the sums of
# ``rated_costs``, written by rating as ``rated_daily.parquet`` so daily reports
# (anomalies, budgets, statements) never recompute the rated rows.
RATED_DAILY = pa.schema([
    ("tenant_id", pa.string()),
    ("period", pa.string()),
    ("day", pa.date32()),
    ("kind", pa.string()),  # usage | shared
    ("pool", pa.string()),
    ("provider", pa.string()),
    ("service", pa.string()),
    ("currency", pa.string()),  # billing currency
    ("cost", MONEY_ARROW),
    ("rated", MONEY_ARROW),
    ("amount", MONEY_ARROW),  # tenant currency, the exact sum of the rows' amounts
    ("tenant_currency", pa.string()),
    ("rows", pa.int64()),
])
RATED_DAILY_FILE = "rated_daily.parquet"

UNALLOCATED = pa.schema([
    ("period", pa.string()),
    ("x_row_id", pa.string()),
    ("x_source", pa.string()),
    ("day", pa.date32()),
    ("reason", pa.string()),
    ("provider", pa.string()),
    ("service", pa.string()),
    ("billing_account", pa.string()),
    ("account", pa.string()),
    ("charge_category", pa.string()),
    ("tags", pa.map_(pa.string(), pa.string())),
    ("cost", MONEY_ARROW),
    ("currency", pa.string()),
])

INVOICE_LINES = pa.schema([
    ("tenant_id", pa.string()),
    ("period", pa.string()),
    ("line_no", pa.int32()),
    ("kind", pa.string()),  # usage | shared | fee | minimum | correction
    ("description", pa.string()),
    ("provider", pa.string()),
    ("service", pa.string()),
    ("amount", LINE_MONEY),
    ("currency", pa.string()),
    ("taxed", pa.bool_()),
    ("quantity", MONEY_ARROW),  # usage figures (sum of PricingQuantity when one unit)
    ("unit", pa.string()),
])

INVOICE_DRAFTS = pa.schema([
    ("tenant_id", pa.string()),
    ("period", pa.string()),
    ("currency", pa.string()),
    ("subtotal", LINE_MONEY),
    ("line_count", pa.int32()),
    ("lines_hash", pa.string()),
    ("closes_on", pa.date32()),  # [rebill] close_day of the month after: final from then on
    ("estimated_rows", pa.int64()),  # cost rows of the period that are estimates (x_estimated)
])

EXPORTS = pa.schema([
    ("target", pa.string()),
    ("tenant_id", pa.string()),
    ("period", pa.string()),
    ("key", pa.string()),  # rebill:<tenant>:<period>
    ("external_id", pa.string()),
    ("lines_hash", pa.string()),
    ("subtotal", LINE_MONEY),
    ("currency", pa.string()),
    ("exported_at", TS_ARROW),
])

RATED_FILES: dict[str, pa.Schema] = {
    "rated_costs": RATED_COSTS,
    "unallocated": UNALLOCATED,
    "invoice_lines": INVOICE_LINES,
    "invoices": INVOICE_DRAFTS,
}

# One row per exported invoice and read-back (``rebill reconcile``); appended, never
# rewritten, so a status change is visible as a new row. Status: unpaid, paid,
# partially_paid, overdue, cancelled, void, refunded, missing (gone remotely) or
# not_tracked (the file target has no payments).
RECEIVABLES = pa.schema([
    ("target", pa.string()),
    ("tenant_id", pa.string()),
    ("period", pa.string()),
    ("external_id", pa.string()),
    ("number", pa.string()),  # the remote invoice number (FOSSBilling renumbers paid ones)
    ("status", pa.string()),
    ("currency", pa.string()),  # the remote invoice's currency
    ("exported_subtotal", LINE_MONEY),
    ("remote_subtotal", LINE_MONEY),
    ("remote_total", LINE_MONEY),  # with the billing system's tax
    ("amount_paid", LINE_MONEY),
    ("amount_due", LINE_MONEY),
    ("paid_at", TS_ARROW),
    ("due_at", pa.date32()),
    ("checked_at", TS_ARROW),
])

# Drift between the billing system and what rebill exported (one row per difference).
RECONCILIATION = pa.schema([
    ("target", pa.string()),
    ("tenant_id", pa.string()),
    ("period", pa.string()),
    ("external_id", pa.string()),
    ("kind", pa.string()),  # missing | currency | line_amount | line_missing | line_added
    #                         | subtotal | renumbered
    ("line_no", pa.int32()),
    ("expected", pa.string()),
    ("remote", pa.string()),
    ("difference", LINE_MONEY),
    ("detail", pa.string()),
    ("checked_at", TS_ARROW),
])

# ``rated_costs`` of a rated period is a view computed on demand: rating stores its
# SELECT text as ``rated_costs.sql`` in the period folder, reading the lake through
# the ``costs`` view and the folder's small files through ``period_file_token(name)``,
# which the catalog replaces with the file's quoted path (a lone quote between two @
# never occurs inside a SQL string literal, where quotes are doubled).
RATED_VIEW_FILE = "rated_costs.sql"


def period_file_token(name: str) -> str:
    return f"@'{name}'@"
