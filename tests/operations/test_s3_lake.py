"""The lake on object storage: partitions in an S3 bucket (moto's server), state local."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from rebill.config import load_config
from rebill.flows.pipeline import load_one, plan
from rebill.layout import lake_root, loads_file, rated_dir
from rebill.periods import Period
from rebill.rating import rate_period
from tests.conftest import SAMPLES

pytestmark = pytest.mark.slow  # seconds each: Prefect, subprocesses or many examples

SAMPLE = SAMPLES / "focus" / "focus_1.0_sample_1000rows.csv"
BUCKET = "rebill-lake"
SEP = Period.of(date(2024, 9, 1))


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3-compatible endpoint on loopback with an empty bucket; fake credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the config names the endpoint
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def sample_sums() -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    with SAMPLE.open(newline="") as fh:
        for rec in csv.DictReader(fh):
            cost = Decimal(rec["BilledCost"])
            sums[rec["ProviderName"]] = sums.get(rec["ProviderName"], Decimal(0)) + cost
    return sums


def sample_sums_of(provider: str, period: Period) -> Decimal:
    with SAMPLE.open(newline="") as fh:
        return sum((Decimal(r["BilledCost"]) for r in csv.DictReader(fh)
                    if r["ProviderName"] == provider
                    and r["BillingPeriodStart"].startswith(period.label)), Decimal(0))


def test_lake_on_s3_ingest_query_reingest_and_rate(s3: str, tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "focus.csv").write_bytes(SAMPLE.read_bytes())
    cfg_path = tmp_path / "rebill.toml"
    cfg_path.write_text(
        f'[rebill]\nhome = "home"\nlake_uri = "s3://{BUCKET}/team/lake"\n'
        f'lake_endpoint = "{s3}"\n'
        '[sources.focus]\ntype = "focus"\npath = "exports/*.csv"\n'
        '[[tenants]]\nid = "acme"\nmarkup = "10%"\nmatch = [{ provider = "AWS" }]\n')
    cfg = load_config(cfg_path)
    today = date(2024, 11, 20)

    pairs, failed = plan(cfg, today)
    assert not failed and pairs
    outcomes = [load_one(cfg, source, period, today) for source, period in pairs]
    assert {o.status for o in outcomes} == {"loaded"}, [o.error for o in outcomes]
    assert sum(o.rows for o in outcomes) == 1000

    # the partitions are objects in the bucket; nothing of the lake is on local disk
    keys = sorted(
        o["Key"] for o in boto3.client("s3", endpoint_url=s3).list_objects_v2(
            Bucket=BUCKET, Prefix="team/lake/costs/source=")["Contents"])
    assert keys == [f"team/lake/costs/source=focus/billing_period={p.label}/part-0.parquet"
                    for _, p in sorted(pairs, key=lambda sp: sp[1].label)]
    assert not list(lake_root(cfg.home).glob("source=*"))
    assert loads_file(cfg.home).exists()  # state stays local

    # the catalog reads the bucket (`rebill sql`'s connection)
    from rebill.normalize.catalog import connect, refresh_catalog

    con = connect(cfg.home)
    try:
        got = dict(con.execute(
            'SELECT "ProviderName", sum("BilledCost") FROM costs GROUP BY 1').fetchall())
    finally:
        con.close()
    assert got == sample_sums()
    assert refresh_catalog(cfg.home)  # the persistent catalog's views bind to the bucket too

    # `rebill sql`'s locked-down connection still reads the bucket (and only the home/lake)
    from rebill.normalize.analyst import analyst_connect, run_query

    con = analyst_connect(cfg.home)
    try:
        _, batches = run_query(con, 'SELECT "ProviderName", sum("BilledCost") FROM costs GROUP BY 1')
        assert dict(row for batch in batches for row in batch) == sample_sums()
    finally:
        con.close()

    # a second run with the same files changes nothing
    again = [load_one(cfg, source, period, today) for source, period in pairs]
    assert {o.status for o in again} == {"unchanged"}

    # rating reads the period's partitions from the bucket; its outputs stay local
    result = rate_period(cfg, SEP)
    assert rated_dir(cfg.home, SEP.label).is_dir()
    assert result.lake_rows == 999
    aws = sample_sums_of("AWS", SEP)
    [usd] = result.conservation
    september = sum((sample_sums_of(p, SEP) for p in sample_sums()), Decimal(0))
    assert (usd.currency, usd.lake, usd.attributed) == ("USD", september, aws)
    assert usd.accounted == usd.lake
    [acme] = result.tenants
    assert acme.tenant_id == "acme" and acme.subtotal > aws
    # the inputs fingerprint names the bucket's objects: unchanged until one is replaced
    from rebill.rating.inputs import input_fingerprint, rating_inputs, stored_fingerprint

    assert stored_fingerprint(cfg.home, SEP) == input_fingerprint(cfg, SEP, corrections=False)
    lake = rating_inputs(cfg, SEP, corrections=False)["lake"]
    assert lake and all(path.startswith("s3://") and size > 0 for path, size, _ in lake)


def test_lake_uri_must_name_a_bucket(tmp_path: Path) -> None:
    from rebill.errors import ConfigError

    cfg_path = tmp_path / "rebill.toml"
    cfg_path.write_text('[rebill]\nlake_uri = "/mnt/lake"\n')
    with pytest.raises(ConfigError, match=r"rebill\.toml: rebill\.lake_uri: '/mnt/lake'"):
        load_config(cfg_path)
