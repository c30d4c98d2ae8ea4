"""Linode invoices through linode_api4, one billing period at a time.

Closed months come from ``account.invoices()`` and each invoice's items (all
pages); an invoice dated on the 1st bills the month before. Item ``tax``,
``total`` and ``region`` are read from the item's raw JSON (the library does
not declare them). Each item's amount and tax are spread over the days of its
``from``/``to`` span; the invoice's subtotal and tax are then reconciled to
the cent. The open month has no line items in the API: it is estimated from
``account().balance_uninvoiced`` as one ``x_estimated`` row per elapsed day,
and replaced by the invoice's rows when it arrives.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from rebill.connectors.base import ConnectorSpec, Context, Extract, SourceBatch, SourceConfig
from rebill.connectors.invoice_rows import Billing, day_row, parse_amount, parse_time, to_batch
from rebill.connectors.linode import mapping
from rebill.connectors.spread import DAY, spread, spread_days_evenly
from rebill.errors import AuthError, FatalConnectorError, RetriableConnectorError
from rebill.periods import Period
from rebill.retry import Retriable, Retry, call, status_verdict, try_later

log = logging.getLogger("rebill.linode")
DEFAULT_ENDPOINT = "https://api.linode.com/v4"
T = TypeVar("T")


class LinodeSource(SourceConfig):
    type: Literal["linode"] = "linode"
    token_env: str = "LINODE_TOKEN"  # noqa: S105 (a variable name, not a secret)
    page_size: int = 100
    retries: int = 5  # bounded retries on 408/429/5xx, then a retriable error


@dataclass(frozen=True)
class Invoice:
    id: str
    date: datetime
    subtotal: Decimal
    tax: Decimal
    total: Decimal

    @property
    def period(self) -> Period:
        """The month billed: an invoice issued on the 1st bills the previous month."""
        return Period.of((self.date - DAY).date())


def _span_end(ts: datetime) -> datetime:
    """Linode's ``to`` is inclusive to the second (``...23:59:59``): make it exclusive."""
    return ts + timedelta(seconds=1) if (ts.minute, ts.second) == (59, 59) else ts


class LinodeConnector:
    def __init__(self, source_id: str, cfg: LinodeSource, ctx: Context) -> None:
        self.source_id = source_id
        self.cfg = cfg
        self.ctx = ctx
        self.retry = Retry(attempts=cfg.retries + 1)
        self._client: Any = None

    # -- HTTP ----------------------------------------------------------------
    def client(self) -> Any:
        if self._client is None:
            from linode_api4 import LinodeClient

            token = os.environ.get(self.cfg.token_env, "").strip()
            if not token:
                raise AuthError(
                    f"source {self.source_id}: environment variable {self.cfg.token_env} is not "
                    "set (a Linode personal access token with Account read-only access)"
                )
            self._client = LinodeClient(
                token,
                base_url=(self.cfg.endpoint or DEFAULT_ENDPOINT).rstrip("/"),
                page_size=self.cfg.page_size,
                retry=False,  # rebill.retry is the one retry layer
            )
        return self._client

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        import requests
        from linode_api4 import ApiError, UnexpectedResponseError

        def classify(exc: Exception) -> Retriable | None:
            if isinstance(exc, ApiError):
                headers = getattr(exc.response, "headers", None) or {}
                return status_verdict(int(exc.status), dict(headers), self.retry.clock)
            return None

        where = f"source {self.source_id}: GET {what}"
        try:
            return call(fn, catch=(ApiError,), classify=classify, what=where,
                        policy=self.retry, give_up=try_later(where))
        except ApiError as err:
            if err.status in (401, 403):
                raise AuthError(
                    f"{where}: HTTP {err.status}: the token in {self.cfg.token_env} was refused "
                    "(it needs Account read-only access)"
                ) from None
            raise FatalConnectorError(f"{where}: HTTP {err.status}: {err.errors}") from None
        except UnexpectedResponseError:
            raise FatalConnectorError(f"{where}: unexpected answer") from None
        except requests.RequestException as err:
            raise RetriableConnectorError(f"{where}: {type(err).__name__}") from None

    # -- API -----------------------------------------------------------------
    def account(self) -> dict[str, Any]:
        acct = self._call("/account", lambda: self.client().account())
        raw: dict[str, Any] = acct._raw_json
        return raw

    def invoices(self) -> list[Invoice]:
        pages = self._call("/account/invoices", self.client().account.invoices)
        found = self._call("/account/invoices (pages)", lambda: list(pages))
        out: list[Invoice] = []
        for inv in found:
            raw = inv._raw_json
            where = f"source {self.source_id}: invoice {raw.get('id')!r}"
            out.append(Invoice(
                id=str(raw["id"]),
                date=parse_time(raw.get("date"), f"{where}: date"),
                subtotal=parse_amount(raw.get("subtotal"), f"{where}: subtotal"),
                tax=parse_amount(raw.get("tax", 0), f"{where}: tax"),
                total=parse_amount(raw.get("total"), f"{where}: total"),
            ))
        return out

    def items(self, invoice_id: str) -> list[dict[str, Any]]:
        from linode_api4.objects import Invoice as ApiInvoice

        what = f"/account/invoices/{invoice_id}/items"
        inv = ApiInvoice(self.client(), int(invoice_id))
        pages = self._call(what, lambda: inv.items)
        found = self._call(what + " (pages)", lambda: list(pages))
        return [dict(item._raw_json) for item in found]

    # -- Connector -----------------------------------------------------------
    def _open_period(self, invoiced: set[Period]) -> Period | None:
        current = Period.of(self.ctx.today)
        return None if current in invoiced else current

    def periods(self, since: date, until: date) -> list[Period]:
        invoiced = {inv.period for inv in self.invoices()}
        found = set(invoiced)
        open_period = self._open_period(invoiced)
        if open_period is not None:
            found.add(open_period)
        return [p for p in sorted(found) if p.end > since and p.start <= until]

    def extract(self, period: Period) -> Extract:
        invoices = self.invoices()
        mine = sorted((i for i in invoices if i.period == period), key=lambda i: i.id)
        if mine:
            key = "|".join(f"{i.id}:{i.subtotal}:{i.tax}:{i.total}" for i in mine)
            return Extract(
                fingerprint="invoice:" + hashlib.sha256(key.encode()).hexdigest()[:32],
                batches=self._invoice_batches(mine, period),
                notes={"invoices": ",".join(i.id for i in mine)},
            )
        if period == self._open_period({i.period for i in invoices}):
            account = self.account()
            balance = parse_amount(account.get("balance_uninvoiced", 0),
                                   f"source {self.source_id}: /account: balance_uninvoiced")
            key = f"{self.ctx.today.isoformat()}:{balance}"
            return Extract(
                fingerprint="estimate:" + hashlib.sha256(key.encode()).hexdigest()[:32],
                batches=self._estimate_batches(account, balance, period),
                notes={"invoices": "none", "estimated": "true"},
            )
        return Extract(fingerprint="none", batches=iter(()), notes={"invoices": "none"})

    def _billing(self, account: dict[str, Any], period: Period, invoice_id: str | None,
                 estimated: bool) -> Billing:
        return Billing(mapping.PROVIDER, str(account.get("euuid") or "linode"),
                       str(account["company"]) if account.get("company") else None,
                       mapping.CURRENCY, period, invoice_id, estimated)

    def _estimate_batches(self, account: dict[str, Any], balance: Decimal,
                          period: Period) -> Iterator[SourceBatch]:
        if balance == 0:
            return
        billing = self._billing(account, period, None, estimated=True)
        days = min(max((self.ctx.today - period.start).days + 1, 1), period.days)
        rows = [
            day_row(billing, share, category="Usage", frequency="Usage-Based",
                    service="Linode (uninvoiced, estimated)", service_category="Other",
                    description="Month-to-date uninvoiced balance, spread evenly (estimate)")
            for share in spread_days_evenly(balance, period.start_ts, days)
        ]
        yield to_batch(rows, "linode /account balance_uninvoiced")

    def _invoice_batches(self, invoices: list[Invoice], period: Period) -> Iterator[SourceBatch]:
        account = self.account()
        for inv in invoices:
            billing = self._billing(account, period, inv.id, estimated=False)
            origin = f"linode /account/invoices/{inv.id}/items"
            rows: list[dict[str, Any]] = []
            subtotal, tax = Decimal(0), Decimal(0)
            for n, item in enumerate(self.items(inv.id), 1):
                item_rows, amount, item_tax = self._item_rows(billing, item, f"{origin}, item {n}")
                rows += item_rows
                subtotal += amount
                tax += item_tax
            last_day = period.end_ts - DAY
            for diff, category, what in ((inv.subtotal - subtotal, "Adjustment", "subtotal"),
                                         (inv.tax - tax, "Tax", "tax")):
                if diff != 0:  # the invoice is the truth: book the difference on the last day
                    rows.append(day_row(
                        billing, spread(diff, last_day, period.end_ts)[0], category=category,
                        frequency="One-Time", service="Invoice " + what,
                        service_category="Other",
                        description=f"Difference between invoice {what} and its items"))
            yield to_batch(rows, origin)

    def _item_rows(self, billing: Billing, item: dict[str, Any],
                   where: str) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
        where = f"source {self.source_id}: {where}"
        label = str(item.get("label") or "")
        amount = parse_amount(item.get("amount"), f"{where}: amount")
        tax = parse_amount(item.get("tax") or 0, f"{where}: tax")
        start = parse_time(item.get("from"), f"{where}: from")
        end = _span_end(parse_time(item.get("to"), f"{where}: to"))
        parsed = mapping.parse_label(label)
        hourly = str(item.get("type") or "").lower() == "hourly"
        quantity = unit_price = None
        if item.get("quantity") not in (None, ""):
            quantity = parse_amount(item["quantity"], f"{where}: quantity")
        if item.get("unit_price") not in (None, ""):
            unit_price = parse_amount(item["unit_price"], f"{where}: unit_price")
        category = "Credit" if amount < 0 and mapping.CREDIT.search(label) else "Usage"
        region = str(item["region"]) if item.get("region") else None
        common: dict[str, Any] = {
            "service": parsed.service, "service_category": parsed.category,
            "sku": parsed.sku, "resource_id": parsed.resource_id,
            "resource_name": parsed.resource_name, "region": region,
        }
        frequency = "Usage-Based" if hourly else "One-Time"
        rows = [
            day_row(billing, share, category=category, frequency=frequency, description=label,
                    unit="Hours" if hourly else "Units", quantity=quantity,
                    unit_price=unit_price, **common)
            for share in spread(amount, start, end)
        ]
        if tax != 0:
            rows += [
                day_row(billing, share, category="Tax", frequency=frequency,
                        description=f"Tax: {label}", **common)
                for share in spread(tax, start, end)
            ]
        return rows, amount, tax


SPEC = ConnectorSpec(
    type="linode",
    config_model=LinodeSource,
    factory=LinodeConnector,  # type: ignore[arg-type]
    provider="linode",
)
