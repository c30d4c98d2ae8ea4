"""A demo-like home for report and analyst-query tests.

The bundled FOCUS sample (September 2024) is ingested through the real
connector and lake writer, plus a small second FOCUS file holding a steady
daily cost and one spike (so the ``anomalies`` view has something to find).
The period is rated by ``rating.rate_period`` when the rating package offers
it; otherwise :func:`synth_rate` writes the rated Parquet files with the
schemas of :mod:`rebill.datasets` using a deliberately simple rule set
(tenant by SubAccountId, one markup per tenant, a constant FX rate).
"""

from __future__ import annotations

import csv
import importlib
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from rebill.config import Config, parse_config
from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.datasets import RATED_FILES
from rebill.layout import rated_dir
from rebill.normalize.catalog import connect, ensure_layout
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.conftest import SAMPLES

PERIOD = Period(date(2024, 9, 1))
EUR_RATE = Decimal("0.9")

ACME_ACCOUNTS = ("11353890204", "18938484842")
SPIKE_ACCOUNT = "999900000001"

FOCUS_SAMPLE = SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv"


def _spike_csv(path: Path) -> None:
    """30 days of 2.00 USD of 'Spike Storage' for SPIKE_ACCOUNT, 40.00 on the 20th."""
    with FOCUS_SAMPLE.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        template = next(reader)
    rows = []
    for day in range(1, 31):
        cost = "40.00" if day == 20 else "2.00"
        row = dict.fromkeys(header, "NULL")
        row.update({k: template[k] for k in (
            "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodStart",
            "BillingPeriodEnd", "ChargeFrequency", "InvoiceIssuerName", "ProviderName",
            "PublisherName", "PricingCategory")})
        row.update({
            "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
            "ChargeCategory": "Usage", "ChargeDescription": "Spike storage GB-month",
            "ChargePeriodStart": f"2024-09-{day:02d} 00:00:00",
            "ChargePeriodEnd": f"2024-09-{day:02d} 23:00:00",
            "PricingQuantity": "1", "PricingUnit": "GB-Mo", "ConsumedQuantity": "1",
            "ConsumedUnit": "GB-Mo", "ServiceName": "Spike Storage",
            "ServiceCategory": "Storage", "SubAccountId": SPIKE_ACCOUNT,
            "SubAccountName": "spiky", "SkuId": "SPIKE-SKU", "ResourceId": "bucket-spiky",
            "Tags": "{}",
        })
        rows.append(row)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
    # The sample writes SQL-style NULL unquoted; mimic it so the connector reads nulls.
    path.write_text(path.read_text().replace('"NULL"', "NULL"))


def demo_config(base: Path) -> Config:
    (base / "fx.csv").write_text(
        "date,base,quote,rate\n" + "".join(
            f"2024-09-{d:02d},USD,EUR,{EUR_RATE}\n" for d in range(1, 31)))
    data: dict[str, Any] = {
        "rebill": {"home": str(base / "home"), "currency": "USD"},
        "sources": {
            "files": {"type": "focus", "path": "exports/*.csv"},
            "spiky": {"type": "focus", "path": "spiky/*.csv"},
        },
        "fx": {"path": "fx.csv"},
        "tenants": [
            {"id": "acme", "name": "Acme Corp", "currency": "EUR", "markup": "15%",
             "budget": "5.00",
             "match": [{"account": a} for a in ACME_ACCOUNTS]},
            {"id": "globex", "name": "Globex <Ltd> & Co", "markup": "10%",
             "match": [{"account": SPIKE_ACCOUNT}, {"provider": "Microsoft"}]},
        ],
    }
    return parse_config(data, "demo.toml", base)


def ingest(base: Path, cfg: Config) -> None:
    (base / "exports").mkdir(exist_ok=True)
    (base / "spiky").mkdir(exist_ok=True)
    shutil.copy(FOCUS_SAMPLE, base / "exports" / "a.csv")
    _spike_csv(base / "spiky" / "s.csv")
    ctx = Context(home=cfg.home, base_dir=base, today=date(2024, 10, 3))
    for source_id, raw in cfg.sources.items():
        load_partition(cfg.home, build(source_id, raw, ctx), PERIOD)


def _tenant_case(column: str) -> str:
    acme = ", ".join(f"'{a}'" for a in ACME_ACCOUNTS)
    return (f"CASE WHEN {column} IN ({acme}) THEN 'acme' "
            f"WHEN {column} = '{SPIKE_ACCOUNT}' OR ProviderName = 'Microsoft' THEN 'globex' END")


def synth_rate(cfg: Config, period: Period = PERIOD) -> None:
    """Write rated outputs for ``period`` with a simple, fixed rule set."""
    home = cfg.home
    con = connect(home)
    label = period.label
    con.execute(f"""CREATE TEMP TABLE src AS
        SELECT *, {_tenant_case('SubAccountId')} AS tenant_id,
               CAST(ChargePeriodStart AS DATE) AS day
        FROM costs WHERE strftime(BillingPeriodStart, '%Y-%m') = '{label}'""")
    con.execute(f"""CREATE TEMP TABLE rc AS
        SELECT tenant_id, '{label}' AS period, x_row_id, x_source, day, 'usage' AS kind,
               CAST(NULL AS VARCHAR) AS pool, 'tenant:' || tenant_id AS pricing_rule,
               ProviderName AS provider, ServiceName AS service,
               ChargeCategory AS charge_category, ProviderName || '|' || ServiceName AS line_key,
               BilledCost AS cost,
               CAST(CASE tenant_id WHEN 'acme' THEN 0.15 ELSE 0.10 END AS DECIMAL(38,12)) AS markup,
               CAST(round(BilledCost * (1 + CASE tenant_id WHEN 'acme' THEN 0.15 ELSE 0.10 END), 12)
                    AS DECIMAL(38,12)) AS rated,
               BillingCurrency AS currency,
               CAST(CASE tenant_id WHEN 'acme' THEN {EUR_RATE} ELSE 1 END AS DECIMAL(38,12))
                 AS fx_rate,
               CASE tenant_id WHEN 'acme' THEN 'EUR' ELSE 'USD' END AS tenant_currency
        FROM src WHERE tenant_id IS NOT NULL""")
    con.execute("""CREATE TEMP TABLE rc2 AS SELECT * EXCLUDE (tenant_currency),
        CAST(round(rated * fx_rate, 12) AS DECIMAL(38,12)) AS amount, tenant_currency FROM rc""")
    out = rated_dir(home, label)
    out.mkdir(parents=True, exist_ok=True)
    queries = {
        "rated_costs": "SELECT * FROM rc2 ORDER BY tenant_id, x_source, x_row_id",
        "unallocated": f"""SELECT '{label}' AS period, x_row_id, x_source, day,
            'no tenant or pool matched' AS reason, ProviderName AS provider,
            ServiceName AS service, BillingAccountId AS billing_account,
            SubAccountId AS account, ChargeCategory AS charge_category, Tags AS tags,
            BilledCost AS cost, BillingCurrency AS currency
            FROM src WHERE tenant_id IS NULL ORDER BY x_source, x_row_id""",
        "invoice_lines": """WITH g AS (
              SELECT tenant_id, period, provider, service, tenant_currency AS currency,
                     CAST(round(sum(amount), 2) AS DECIMAL(18,2)) AS amount
              FROM rc2 GROUP BY ALL HAVING round(sum(amount), 2) <> 0)
            SELECT tenant_id, period,
                   CAST(row_number() OVER (PARTITION BY tenant_id
                        ORDER BY provider || ' ' || service) AS INTEGER) AS line_no,
                   'usage' AS kind, provider || ' ' || service AS description, provider,
                   service, amount, currency, true AS taxed,
                   CAST(NULL AS DECIMAL(38,12)) AS quantity, CAST(NULL AS VARCHAR) AS unit
            FROM g ORDER BY tenant_id, line_no""",
        "invoices": """SELECT tenant_id, period, currency, CAST(sum(amount) AS DECIMAL(18,2))
                   AS subtotal, CAST(count(*) AS INTEGER) AS line_count,
                   md5(string_agg(CAST(amount AS VARCHAR), ',' ORDER BY line_no)) AS lines_hash
            FROM lines GROUP BY ALL ORDER BY tenant_id""",
    }
    lines = con.sql(queries["invoice_lines"]).to_arrow_table()
    con.register("lines", lines)
    for name, schema in RATED_FILES.items():
        table = con.sql(queries[name]).to_arrow_table().select(schema.names).cast(schema)
        pq.write_table(table, out / f"{name}.parquet")
    con.close()


def rate(cfg: Config, period: Period = PERIOD) -> str:
    """Rate with the real engine when it exists, else :func:`synth_rate`; says which."""
    try:
        rating = importlib.import_module("rating")
    except ImportError:
        rating = None
    rate_period = getattr(rating, "rate_period", None)
    if rate_period is None:
        synth_rate(cfg, period)
        return "synthetic"
    rate_period(cfg, period)
    return "rating"


def build_demo(base: Path) -> Config:
    cfg = demo_config(base)
    ensure_layout(cfg.home)
    ingest(base, cfg)
    rate(cfg)
    return cfg
