"""Rating: lake rows of one billing period + config -> rated rows, invoice lines, invoices.

Public API::

    rate_period(cfg, period, *, con=None, extra_lines=None) -> RateResult
    status(cfg, period) -> StatusReport
    check_config(cfg) -> list[str]
"""

from rebill.lines import Line
from rebill.rating.check import check_config
from rebill.rating.conservation import Conservation
from rebill.rating.engine import RateResult, TenantTotal, rate_period
from rebill.rating.lines import ExtraLines
from rebill.rating.status import StatusReport, latest_rated_period, status

__all__ = [
    "Conservation",
    "ExtraLines",
    "Line",
    "RateResult",
    "StatusReport",
    "TenantTotal",
    "check_config",
    "latest_rated_period",
    "rate_period",
    "status",
]
