"""aws_cost_explorer wired to moto's Cost Explorer: a month over four pages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from unittest import mock

from moto import mock_aws

from rebill.connectors.base import Context
from rebill.connectors.registry import build
from rebill.periods import Period
from tests.contract.case import ContractCase
from tests.unit.connectors.aws import ce_fixtures as fx

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_DEFAULT_REGION": "us-east-1"}


@contextmanager
def case(tmp_path: Path) -> Iterator[ContractCase]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"} | ENV
    with mock.patch.dict(os.environ, env, clear=True), mock_aws():
        period = Period(date(2026, 10, 1))
        fx.queue(fx.pages(fx.day_results(period.start, 31), 10))
        ctx = Context(home=tmp_path / "home", base_dir=tmp_path, today=date(2026, 11, 3))
        conn = build("aws-ce", {"type": "aws_cost_explorer", "metric": "UnblendedCost",
                                "group_by": ["LINKED_ACCOUNT", "SERVICE"]}, ctx)
        yield ContractCase(conn, period, min_rows=31 * len(fx.GROUPS))
