"""DigitalOcean invoices through pydo, one billing period at a time.

Closed months come from ``invoices.list()`` (every page, via
``links.pages.next``) and ``invoices.get_by_uuid(uuid)`` (every page); the
open month from the ``preview`` invoice, refreshed by DigitalOcean daily and
marked ``x_estimated``. A closed invoice's fingerprint is its uuid and amount,
so the day it closes its rows replace the preview's in one partition swap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

from pydantic import field_validator

from rebill.connectors.base import ConnectorSpec, Context, Extract, SourceBatch, SourceConfig
from rebill.connectors.digitalocean import mapping
from rebill.connectors.invoice_rows import (
    Billing,
    canonical_json,
    day_row,
    parse_amount,
    parse_time,
    to_batch,
)
from rebill.connectors.spread import DAY, spread
from rebill.errors import AuthError, FatalConnectorError, RetriableConnectorError
from rebill.periods import Period
from rebill.retry import Retriable, Retry, call, status_verdict, try_later

log = logging.getLogger("rebill.digitalocean")
DEFAULT_ENDPOINT = "https://api.digitalocean.com"
MAX_PAGES = 10_000


class DigitalOceanSource(SourceConfig):
    type: Literal["digitalocean"] = "digitalocean"
    token_env: str = "DIGITALOCEAN_TOKEN"  # noqa: S105 (a variable name, not a secret)
    page_size: int = 200
    retries: int = 5  # bounded retries on 429/5xx, then a retriable error
    timeout: int = 60  # seconds per request
    # BillingAccountId; by default the team (or account) uuid from /v2/account,
    # else the source id when the token may not read the account (billing:read only).
    account_id: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith("https://"):
            raise ValueError("must be an https:// URL (pydo never sends the token over plain HTTP)")
        return value


@dataclass(frozen=True)
class Invoice:
    uuid: str
    invoice_id: str | None
    amount: Decimal
    period: str  # YYYY-MM


def _page_of(next_url: object, current: int, where: str) -> int | None:
    """The page number ``links.pages.next`` points at (None: last page)."""
    if not next_url:
        return None
    values = parse_qs(urlparse(str(next_url)).query).get("page")
    try:
        page = int(values[0]) if values else -1
    except ValueError:
        page = -1
    if page <= current:
        raise FatalConnectorError(f"{where}: links.pages.next {next_url!r} does not advance")
    return page


class DigitalOceanConnector:
    def __init__(self, source_id: str, cfg: DigitalOceanSource, ctx: Context) -> None:
        self.source_id = source_id
        self.cfg = cfg
        self.ctx = ctx
        self.retry = Retry(attempts=cfg.retries + 1)
        self._client: Any = None

    # -- HTTP ----------------------------------------------------------------
    def client(self) -> Any:
        if self._client is None:
            import pydo

            token = os.environ.get(self.cfg.token_env, "").strip()
            if not token:
                raise AuthError(
                    f"source {self.source_id}: environment variable {self.cfg.token_env} is not "
                    "set (a DigitalOcean read-only token with the billing:read scope)"
                )
            self._client = pydo.Client(
                token,
                endpoint=(self.cfg.endpoint or DEFAULT_ENDPOINT).rstrip("/"),
                timeout=self.cfg.timeout,
                retry_total=0,  # rebill.retry is the one retry layer
            )
        return self._client

    def _get(self, what: str, operation: Callable[..., Any], *args: Any, optional: bool = False,
             **kwargs: Any) -> Any:
        """Call a pydo operation; parse the raw body with exact decimals.

        ``optional``: a 403 or 404 answers ``None`` instead of raising.
        """
        from azure.core.exceptions import AzureError, HttpResponseError

        def raw(pipeline_response: Any, _parsed: Any, _headers: Any) -> tuple[int, str]:
            http = pipeline_response.http_response
            return int(http.status_code), str(http.text())

        def classify(exc: Exception) -> Retriable | None:
            if isinstance(exc, HttpResponseError) and exc.response is not None:
                headers = getattr(exc.response, "headers", None) or {}
                return status_verdict(int(exc.status_code or 0), dict(headers), self.retry.clock)
            return None

        where = f"source {self.source_id}: GET {what}"
        try:
            status, text = call(
                lambda: operation(*args, cls=raw, **kwargs),
                catch=(HttpResponseError,), classify=classify,
                what=where, policy=self.retry, give_up=try_later(where),
            )
        except HttpResponseError as err:
            code = int(err.status_code or 0)
            if optional and code in (403, 404):
                return None
            if code in (401, 403):
                raise AuthError(
                    f"{where}: HTTP {code}: the token in {self.cfg.token_env} was refused "
                    "(it needs the billing:read scope)"
                ) from None
            raise FatalConnectorError(f"{where}: HTTP {code}: {err.reason}") from None
        except AzureError as err:
            raise RetriableConnectorError(f"{where}: {type(err).__name__}: {err}") from None
        try:
            body = json.loads(text, parse_float=Decimal) if text else {}
        except json.JSONDecodeError:
            raise FatalConnectorError(f"{where}: answer is not JSON") from None
        if status == 404:
            if optional:
                return None
            raise FatalConnectorError(f"{where}: not found")
        if not isinstance(body, dict):
            raise FatalConnectorError(f"{where}: answer is not a JSON object")
        return body

    # -- API -----------------------------------------------------------------
    def _invoice(self, raw: object, where: str) -> Invoice:
        if not isinstance(raw, dict) or not raw.get("invoice_uuid"):
            raise FatalConnectorError(f"{where}: invoice without invoice_uuid: {raw!r}")
        period = str(raw.get("invoice_period") or "")
        Period.parse(period)  # validates YYYY-MM
        return Invoice(
            uuid=str(raw["invoice_uuid"]),
            invoice_id=str(raw["invoice_id"]) if raw.get("invoice_id") else None,
            amount=parse_amount(raw.get("amount", "0"), f"{where}: amount"),
            period=period,
        )

    def invoices(self) -> tuple[list[Invoice], Invoice | None]:
        """Every closed invoice (all pages) and the preview of the open month."""
        ops = self.client().invoices
        closed: list[Invoice] = []
        preview: Invoice | None = None
        page: int | None = 1
        while page is not None:
            if page > MAX_PAGES:
                raise FatalConnectorError(f"source {self.source_id}: invoices: too many pages")
            what = f"/v2/customers/my/invoices?page={page}"
            body = self._get(what, ops.list, per_page=self.cfg.page_size, page=page)
            for raw in body.get("invoices") or []:
                closed.append(self._invoice(raw, f"source {self.source_id}: {what}"))
            if body.get("invoice_preview") and preview is None:
                preview = self._invoice(body["invoice_preview"], f"source {self.source_id}: {what}")
            page = _page_of(_next(body), page, f"source {self.source_id}: {what}")
        return closed, preview

    def items(self, uuid: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(origin, items) per page of one invoice."""
        ops = self.client().invoices
        page: int | None = 1
        while page is not None:
            what = f"/v2/customers/my/invoices/{uuid}?page={page}"
            body = self._get(what, ops.get_by_uuid, uuid, per_page=self.cfg.page_size, page=page)
            items = body.get("invoice_items") or []
            if not isinstance(items, list):
                raise FatalConnectorError(f"source {self.source_id}: {what}: invoice_items")
            yield what, items
            page = _page_of(_next(body), page, f"source {self.source_id}: {what}")

    def billing_account(self) -> tuple[str, str | None]:
        if self.cfg.account_id:
            return self.cfg.account_id, None
        body = self._get("/v2/account", self.client().account.get, optional=True)
        if body is None:  # the token may read billing only
            return self.source_id, None
        account = body.get("account") or {}
        team = account.get("team") or {}
        if team.get("uuid"):
            return str(team["uuid"]), (str(team["name"]) if team.get("name") else None)
        return str(account.get("uuid") or "digitalocean"), None

    # -- Connector -----------------------------------------------------------
    def periods(self, since: date, until: date) -> list[Period]:
        closed, preview = self.invoices()
        labels = {inv.period for inv in closed}
        if preview is not None:
            labels.add(preview.period)
        found = sorted(Period.parse(label) for label in labels)
        return [p for p in found if p.end > since and p.start <= until]

    def extract(self, period: Period) -> Extract:
        closed, preview = self.invoices()
        mine = sorted((i for i in closed if i.period == period.label), key=lambda i: i.uuid)
        if mine:
            key = "|".join(f"{i.uuid}:{i.amount}" for i in mine)
            return Extract(
                fingerprint="invoice:" + hashlib.sha256(key.encode()).hexdigest()[:32],
                batches=self._closed_batches(mine, period),
                notes={"invoices": ",".join(i.uuid for i in mine)},
            )
        if preview is not None and preview.period == period.label:
            pages = list(self.items("preview"))
            digest = hashlib.sha256(canonical_json([p for _, p in pages]).encode())
            return Extract(
                fingerprint="preview:" + digest.hexdigest()[:32],
                batches=self._preview_batches(pages, period),
                notes={"invoices": "preview", "estimated": "true"},
            )
        return Extract(fingerprint="none", batches=iter(()), notes={"invoices": "none"})

    def _closed_batches(self, invoices: list[Invoice], period: Period) -> Iterator[SourceBatch]:
        account_id, account_name = self.billing_account()
        for inv in invoices:
            billing = Billing(mapping.PROVIDER, account_id, account_name, mapping.CURRENCY,
                              period, inv.invoice_id or inv.uuid, estimated=False)
            total = Decimal(0)
            for origin, items in self.items(inv.uuid):
                rows: list[dict[str, Any]] = []
                for n, item in enumerate(items, 1):
                    item_rows, amount = self._item_rows(billing, item, f"{origin}, item {n}")
                    rows += item_rows
                    total += amount
                yield to_batch(rows, f"digitalocean {origin}")
            if total != inv.amount:
                # The invoice is the truth: book any difference so the lake
                # totals the invoice to the cent.
                share = spread(inv.amount - total, period.end_ts - DAY, period.end_ts)[0]
                yield to_batch([day_row(
                    billing, share, category="Adjustment",
                    frequency="One-Time", service="Invoice adjustment", service_category="Other",
                    description="Difference between invoice amount and its items",
                )], f"digitalocean /v2/customers/my/invoices/{inv.uuid}")

    def _preview_batches(self, pages: list[tuple[str, list[dict[str, Any]]]],
                         period: Period) -> Iterator[SourceBatch]:
        account_id, account_name = self.billing_account()
        billing = Billing(mapping.PROVIDER, account_id, account_name, mapping.CURRENCY,
                          period, None, estimated=True)
        for origin, items in pages:
            rows: list[dict[str, Any]] = []
            for n, item in enumerate(items, 1):
                rows += self._item_rows(billing, item, f"{origin}, item {n}")[0]
            yield to_batch(rows, f"digitalocean {origin}")

    def _item_rows(self, billing: Billing, item: dict[str, Any],
                   where: str) -> tuple[list[dict[str, Any]], Decimal]:
        where = f"source {self.source_id}: {where}"
        amount = parse_amount(item.get("amount"), f"{where}: amount")
        product = str(item.get("product") or "Other")
        description = str(item.get("description") or "")
        if item.get("start_time") and item.get("end_time"):
            start = parse_time(item["start_time"], f"{where}: start_time")
            end = parse_time(item["end_time"], f"{where}: end_time")
        else:  # no span: the whole billing period
            start, end = billing.period.start_ts, billing.period.end_ts
        hours: Decimal | None = None
        if str(item.get("duration_unit") or "").lower().startswith("hour") and item.get("duration"):
            hours = parse_amount(item["duration"], f"{where}: duration")
        category = mapping.charge_category(product, description, amount < 0)
        project = item.get("project_name")
        rows = [
            day_row(
                billing, share, category=category,
                frequency="Usage-Based" if category in ("Usage", "Tax") else "One-Time",
                service=product, service_category=mapping.service_category(product),
                description=str(item.get("group_description") or description) or None,
                sku=description or None,
                resource_id=str(item.get("resource_uuid") or item.get("resource_id") or "")
                or None,
                resource_name=str(item.get("resource_id") or "") or None,
                unit="Hours" if hours is not None else None, quantity=hours,
                tags={"project": str(project)} if project else None,
            )
            for share in spread(amount, start, end)
        ]
        return rows, amount



def _next(body: dict[str, Any]) -> object:
    links = body.get("links") or {}
    pages = links.get("pages") or {} if isinstance(links, dict) else {}
    return pages.get("next") if isinstance(pages, dict) else None


SPEC = ConnectorSpec(
    type="digitalocean",
    config_model=DigitalOceanSource,
    factory=DigitalOceanConnector,  # type: ignore[arg-type]
    provider="digitalocean",
)
