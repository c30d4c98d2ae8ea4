"""The canonical cost schema, declared once (FOCUS 1.2 names, ``x_`` for ours).

Everything else derives from ``COLUMNS``: the Arrow schema of the lake, the
DuckDB DDL, the cast list normalize applies to connector output, and the
contract tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

MONEY_SQL = "DECIMAL(38,12)"
MONEY_ARROW = pa.decimal128(38, 12)
TS_ARROW = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    name: str
    sql: str  # DuckDB type
    nullable: bool = True
    required: bool = False  # must be present in every connector's output

    @property
    def arrow(self) -> pa.DataType:
        return _ARROW[self.sql]


_ARROW: dict[str, pa.DataType] = {
    MONEY_SQL: MONEY_ARROW,
    "VARCHAR": pa.string(),
    "TIMESTAMPTZ": TS_ARROW,
    "BOOLEAN": pa.bool_(),
    "MAP(VARCHAR, VARCHAR)": pa.map_(pa.string(), pa.string()),
}


def _req(name: str, sql: str = "VARCHAR", nullable: bool = False) -> Column:
    return Column(name, sql, nullable=nullable, required=True)


def _opt(name: str, sql: str = "VARCHAR") -> Column:
    return Column(name, sql)


COLUMNS: tuple[Column, ...] = (
    _req("BilledCost", MONEY_SQL),
    _req("EffectiveCost", MONEY_SQL),
    _req("ListCost", MONEY_SQL),
    _req("ContractedCost", MONEY_SQL),
    _req("BillingAccountId"),
    _req("BillingAccountName", nullable=True),
    _opt("BillingAccountType"),
    _req("BillingCurrency"),
    _req("BillingPeriodStart", "TIMESTAMPTZ"),
    _req("BillingPeriodEnd", "TIMESTAMPTZ"),
    _req("ChargeCategory"),
    _req("ChargeClass", nullable=True),
    _req("ChargeDescription", nullable=True),
    _req("ChargeFrequency"),
    _req("ChargePeriodStart", "TIMESTAMPTZ"),
    _req("ChargePeriodEnd", "TIMESTAMPTZ"),
    _req("InvoiceIssuerName"),
    _req("PricingQuantity", MONEY_SQL, nullable=True),
    _req("PricingUnit", nullable=True),
    _req("ProviderName"),
    _req("PublisherName"),
    _req("ServiceCategory"),
    _req("ServiceName"),
    _opt("SubAccountId"),
    _opt("SubAccountName"),
    _opt("SubAccountType"),
    _opt("RegionId"),
    _opt("RegionName"),
    _opt("AvailabilityZone"),
    _opt("ResourceId"),
    _opt("ResourceName"),
    _opt("ResourceType"),
    _opt("SkuId"),
    _opt("SkuPriceId"),
    _opt("SkuMeter"),
    _opt("SkuPriceDetails"),  # FOCUS: a JSON object, kept as its JSON text
    _opt("ServiceSubcategory"),
    _opt("PricingCategory"),
    _opt("ConsumedQuantity", MONEY_SQL),
    _opt("ConsumedUnit"),
    _opt("ListUnitPrice", MONEY_SQL),
    _opt("ContractedUnitPrice", MONEY_SQL),
    _opt("PricingCurrency"),
    _opt("PricingCurrencyContractedUnitPrice", MONEY_SQL),
    _opt("PricingCurrencyEffectiveCost", MONEY_SQL),
    _opt("PricingCurrencyListUnitPrice", MONEY_SQL),
    _opt("CapacityReservationId"),
    _opt("CapacityReservationStatus"),
    _opt("CommitmentDiscountId"),
    _opt("CommitmentDiscountCategory"),
    _opt("CommitmentDiscountType"),
    _opt("CommitmentDiscountStatus"),
    _opt("CommitmentDiscountName"),
    _opt("CommitmentDiscountQuantity", MONEY_SQL),
    _opt("CommitmentDiscountUnit"),
    _opt("InvoiceId"),
    _opt("Tags", "MAP(VARCHAR, VARCHAR)"),
    # Ours. x_estimated marks rows derived from an estimate (open-month
    # previews, Cost Explorer's Estimated flag) that a final bill replaces.
    _opt("x_estimated", "BOOLEAN"),
    # The provider's own pricing unit when PricingUnit was normalized to
    # FOCUS's unit format (``Hrs`` -> ``Hours``); null when it was already.
    _opt("x_PricingUnitOriginal"),
    # AWS cost categories (CUR 2.0 ``cost_category`` map, legacy
    # ``costCategory/<name>`` / ``cost_category_<name>`` columns).
    _opt("x_CostCategories", "MAP(VARCHAR, VARCHAR)"),
    # AWS split cost allocation data (ECS/EKS): the share of the parent
    # instance's cost a task/pod used and left unused; informational, the
    # parent row carries the billed cost.
    _opt("x_SplitCost", MONEY_SQL),
    _opt("x_SplitUnusedCost", MONEY_SQL),
    _opt("x_SplitParentResourceId"),
    Column("x_source", "VARCHAR", nullable=False),
    Column("x_row_id", "VARCHAR", nullable=False),
    Column("x_load_id", "VARCHAR", nullable=False),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
MONEY_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.sql == MONEY_SQL)
# Columns a connector supplies; normalize adds x_source, x_row_id, x_load_id.
SOURCE_COLUMNS: tuple[Column, ...] = tuple(
    c for c in COLUMNS if c.name not in ("x_source", "x_row_id", "x_load_id")
)
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)

# Parquet fields are all optional (as DuckDB writes them); NOT NULL is enforced by
# validation and declared in the DDL.
ARROW_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in COLUMNS])
SOURCE_ARROW_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in SOURCE_COLUMNS])


def ddl(table: str = "costs") -> str:
    """``CREATE TABLE`` for the canonical schema (used for empty views and tests)."""
    cols = ",\n  ".join(
        f'"{c.name}" {c.sql}{"" if c.nullable else " NOT NULL"}' for c in COLUMNS
    )
    return f"CREATE TABLE {table} (\n  {cols}\n)"


# FOCUS 1.2 allowed values (case-sensitive, as the spec writes them).
ALLOWED: dict[str, frozenset[str]] = {
    "ChargeCategory": frozenset({"Usage", "Purchase", "Tax", "Credit", "Adjustment"}),
    "ChargeClass": frozenset({"Correction"}),
    "ChargeFrequency": frozenset({"One-Time", "Recurring", "Usage-Based"}),
    "PricingCategory": frozenset({"Standard", "Dynamic", "Committed", "Other"}),
    "ServiceCategory": frozenset({
        "AI and Machine Learning", "Analytics", "Business Applications", "Compute",
        "Databases", "Developer Tools", "Multicloud", "Identity", "Integration",
        "Internet of Things", "Management and Governance", "Media", "Migration",
        "Mobile", "Networking", "Security", "Storage", "Web", "Other",
    }),
    "CommitmentDiscountCategory": frozenset({"Spend", "Usage"}),
    "CommitmentDiscountStatus": frozenset({"Used", "Unused"}),
    "CapacityReservationStatus": frozenset({"Used", "Unused"}),
}
