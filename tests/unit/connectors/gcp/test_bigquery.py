"""gcp_bigquery with the real google-cloud-bigquery client against the fake REST server."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.errors import ConfigError, FatalConnectorError
from rebill.layout import partition_file, state_dir
from rebill.normalize.lake import load_partition
from rebill.periods import Period
from tests.fakes.bigquery import FakeBigQuery
from tests.unit.connectors.gcp import export_fixtures as fx

OCT = Period(date(2026, 10, 1))


def _connector(fake: FakeBigQuery, tmp_path: Path, **cfg: Any) -> Any:
    ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 3))
    return build("gcp", {"type": "gcp_bigquery", "table": fx.TABLE, "endpoint": fake.url,
                         **cfg}, ctx)


def _lake(home: Path) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    path = partition_file(home, "gcp", OCT.label)
    return con.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table().to_pylist()


def _totals(lake: list[dict[str, Any]]) -> dict[tuple[str, str, str], Decimal]:
    out: dict[tuple[str, str, str], Decimal] = {}
    for r in lake:
        key = (r["SubAccountId"], r["ServiceName"], r["ChargePeriodStart"].date().isoformat())
        out[key] = out.get(key, Decimal(0)) + r["BilledCost"]
    return out


def test_month_reconciles_to_net_cost_per_project_service_day(
        fake_bq: FakeBigQuery, tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = load_partition(home, _connector(fake_bq, tmp_path), OCT)
    rows = fx.month_rows()
    assert result.rows == len(rows) + sum(len(r["credits"]) for r in rows)
    assert _totals(_lake(home)) == fx.expected_net(rows)
    # several pages were read through jobs.query, jobs.get and getQueryResults
    assert any(r.startswith("GET /bigquery/v2/projects/billing-proj/queries/")
               for r in fake_bq.requests)


def test_credits_are_separate_rows_and_cost_types_map(fake_bq: FakeBigQuery, tmp_path: Path) -> None:
    home = tmp_path / "home"
    load_partition(home, _connector(fake_bq, tmp_path), OCT)
    lake = _lake(home)
    credits = [r for r in lake if r["ChargeCategory"] == "Credit"]
    assert {r["ChargeDescription"] for r in credits} >= {
        "Sustained Usage Discount (SUSTAINED_USAGE_DISCOUNT)", "Free Tier (FREE_TIER)",
        "Free trial credit (PROMOTION)", "Committed Usage Discount: CPU (COMMITTED_USAGE_DISCOUNT)"}
    assert all(r["EffectiveCost"] == r["BilledCost"] < 0 for r in credits)
    cats = {(r["ChargeCategory"], r["ChargeClass"]) for r in lake}
    assert cats == {("Usage", None), ("Credit", None), ("Tax", None), ("Adjustment", None),
                    ("Adjustment", "Correction")}
    vm = next(r for r in lake if r["ResourceId"] == "projects/acme-prod/instances/web-1")
    assert dict(vm["Tags"]) == {"tenant": "acme-web", "team": "web", "cost-center": "cc-42"}
    assert (vm["SubAccountId"], vm["RegionId"], vm["AvailabilityZone"]) == (
        "acme-prod", "us-central1", "us-central1-a")
    assert vm["BillingAccountId"] == fx.ACCOUNT and vm["ProviderName"] == "Google Cloud"
    vm_credit = next(r for r in credits if r["ResourceId"] == vm["ResourceId"])
    assert dict(vm_credit["Tags"]) == dict(vm["Tags"])  # credits follow their usage's tenant
    globex = next(r for r in lake if r["SubAccountId"] == "globex-web")
    assert dict(globex["Tags"]) == {"tenant": "globex", "env": "prod"}  # project labels


def test_unchanged_month_is_not_reread_and_restated_month_replaces(
        fake_bq: FakeBigQuery, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert load_partition(home, _connector(fake_bq, tmp_path), OCT).status == "loaded"
    before = len(fake_bq.requests)
    assert load_partition(home, _connector(fake_bq, tmp_path), OCT).status == "unchanged"
    assert not [r for r in fake_bq.requests[before:] if "/jobs/" in r]  # one cheap query only
    late = fx.row("storage", "acme-prod", 3, "2.5", export_time="2026-10-05T06:00:00Z",
                  credits=[fx.credit("FREE_TIER", "-0.5")])
    rows = [*fx.month_rows(), late]
    fake_bq.tables[fx.TABLE] = (fx.SCHEMA, rows)
    again = load_partition(home, _connector(fake_bq, tmp_path), OCT)
    assert again.status == "loaded"
    assert _totals(_lake(home)) == fx.expected_net(rows)


def test_standard_export_without_resource_columns(fake_bq: FakeBigQuery, tmp_path: Path) -> None:
    table = "billing-proj.billing.gcp_billing_export_v1_0A0A0A_0B0B0B_0C0C0C"
    names = {f["name"] for f in fx.STANDARD_SCHEMA}
    rows = [{k: v for k, v in r.items() if k in names} for r in fx.month_rows()]
    fake_bq.tables[table] = (fx.STANDARD_SCHEMA, rows)
    home = tmp_path / "home"
    load_partition(home, _connector(fake_bq, tmp_path, table=table), OCT)
    lake = _lake(home)
    assert all(r["ResourceId"] is None for r in lake)
    assert _totals(lake) == fx.expected_net(fx.month_rows())


def test_billing_account_names_are_looked_up_once_and_cached(
        fake_bq: FakeBigQuery, tmp_path: Path) -> None:
    home = tmp_path / "home"
    load_partition(home, _connector(fake_bq, tmp_path, billing_account_names=True), OCT)
    assert {r["BillingAccountName"] for r in _lake(home)} == {"Acme Cloud Billing"}
    cache = json.loads((state_dir(home) / "gcp_billing_accounts.json").read_text())
    assert cache == {fx.ACCOUNT: "Acme Cloud Billing"}
    lookups = [r for r in fake_bq.requests if "billingAccounts" in r]
    assert len(lookups) == 1
    load_partition(home, _connector(fake_bq, tmp_path, billing_account_names=True), OCT,
                   force=True)
    assert len([r for r in fake_bq.requests if "billingAccounts" in r]) == 1


@pytest.mark.parametrize("table", [
    "proj.dataset", "proj.ds.t; DROP TABLE x", "`proj.ds.t`", "Proj.ds.t", "p.ds.t",
    "billing-proj.billing.t WHERE 1=1",
])
def test_table_id_is_validated(table: str, tmp_path: Path) -> None:
    ctx = Context(home=tmp_path, base_dir=tmp_path, today=date(2026, 11, 3))
    with pytest.raises(ConfigError, match=r"sources\.gcp\.table"):
        build("gcp", {"type": "gcp_bigquery", "table": table}, ctx)


def test_missing_table_is_one_clear_error(fake_bq: FakeBigQuery, tmp_path: Path) -> None:
    conn = _connector(fake_bq, tmp_path, table="billing-proj.billing.nope")
    with pytest.raises(FatalConnectorError, match=r"billing-proj\.billing\.nope: .*Not found"):
        conn.extract(OCT)


def test_bundled_sample_from_local_ndjson_reconciles(tmp_path: Path) -> None:
    """The demo's GCP sample: export rows as NDJSON (``path``), same mapping SQL."""
    from tests.conftest import REPO

    folder = REPO / "data" / "samples" / "gcp"
    ctx = Context(home=tmp_path / "home", base_dir=folder, today=date(2026, 11, 3))
    conn = build("gcp", {"type": "gcp_bigquery", "path": "export_*.jsonl",
                         "schema_path": "schema.json"}, ctx)
    assert OCT in conn.periods(date(2026, 10, 1), date(2026, 10, 31))
    home = tmp_path / "home"
    result = load_partition(home, conn, OCT)
    rows = [json.loads(line) for line in
            (folder / "export_202610.jsonl").read_text().splitlines() if line.strip()]
    expected = fx.expected_net(
        [{**r, "cost": repr(r["cost"]),
          "credits": [{**c, "amount": repr(c["amount"])} for c in r["credits"]]} for r in rows])
    assert _totals(_lake(home)) == expected
    assert result.rows == len(rows) + sum(len(r["credits"]) for r in rows)
    assert load_partition(home, conn, OCT).status == "unchanged"


def test_table_or_path_exactly_one(tmp_path: Path) -> None:
    ctx = Context(home=tmp_path, base_dir=tmp_path, today=date(2026, 11, 3))
    with pytest.raises(ConfigError, match="exactly one of table"):
        build("gcp", {"type": "gcp_bigquery"}, ctx)
    with pytest.raises(ConfigError, match="schema_path"):
        build("gcp", {"type": "gcp_bigquery", "path": "x.jsonl"}, ctx)


def test_query_only_endpoint_reads_select_star(fake_bq: FakeBigQuery, tmp_path: Path) -> None:
    """Without tables.get (a query-only proxy) the rows come from ``SELECT *``: same result."""
    fake_bq.tables_get = False
    home = tmp_path / "home"
    load_partition(home, _connector(fake_bq, tmp_path), OCT)
    lake = _lake(home)
    assert _totals(lake) == fx.expected_net(fx.month_rows())
    assert any(r["ResourceId"] == "projects/acme-prod/instances/web-1" for r in lake)
    conn = _connector(fake_bq, tmp_path, table="billing-proj.billing.nope")
    with pytest.raises(FatalConnectorError, match="Not found"):
        list(conn.extract(OCT).batches)
