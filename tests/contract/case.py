"""What a contract provider yields."""

from __future__ import annotations

from dataclasses import dataclass

from rebill.connectors.base import Connector
from rebill.periods import Period


@dataclass
class ContractCase:
    connector: Connector
    period: Period
    min_rows: int = 1  # the fixture data holds at least this many rows for period
