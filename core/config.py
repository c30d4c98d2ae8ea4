"""``rebill.toml``: the validated configuration model.

Loaded from ``--config``, else ``$REBILL_CONFIG``, else ``./rebill.toml`` (a
missing default file means an empty configuration). Unknown keys are errors;
every error names the file and the key. Amounts are read with
``parse_float=Decimal`` and never become floats. Secrets are never read from
the file: ``*_env`` keys name environment variables.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rebill.cron import cron_problem
from rebill.duck import MEMORY_LIMIT_RE
from rebill.errors import ConfigError
from rebill.money import parse_decimal, parse_percent

DEFAULT_CONFIG = "rebill.toml"
CONFIG_ENV = "REBILL_CONFIG"

MATCH_KEYS = (
    "provider", "source", "billing_account", "account", "service", "sku",
    "region", "resource", "charge_category", "tag",
)
PRICING_SCOPE_KEYS = ("provider", "service", "sku", "region", "charge_category")
GROUP_BY_KEYS = (
    "provider", "service", "sku", "region", "account", "billing_account",
    "source", "charge_category", "resource",
)


def _money(value: object) -> Decimal:
    try:
        return parse_decimal(value, "amount", thousands=",")
    except ConfigError as err:  # let pydantic name the key
        raise ValueError(str(err).removeprefix("amount: ")) from None


def _percent(value: object) -> Decimal:
    try:
        return parse_percent(value, "markup")
    except ConfigError as err:
        raise ValueError(str(err).removeprefix("markup: ")) from None


def _markup(value: object) -> Decimal:
    fraction = _percent(value)
    if fraction < -1:
        raise ValueError(f"{value!r} is below -100% (it would turn a cost into a credit)")
    return fraction


# Source ids, tenant ids and pool names become folder names, SQL literals and
# file names: only this alphabet (documented in docs/configuration.md).
SAFE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SAFE_ID_RE = re.compile(SAFE_ID)
SAFE_ID_HINT = "use letters, digits, '-' and '_' (first a letter or digit, at most 64)"


def _safe_id(value: object) -> object:
    if isinstance(value, str) and not SAFE_ID_RE.match(value):
        raise ValueError(f"{value!r} is not a safe id: {SAFE_ID_HINT}")
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]
Percent = Annotated[Decimal, BeforeValidator(_markup)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
SafeId = Annotated[str, AfterValidator(_safe_id)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(Strict):
    """One entry of a ``match`` list: all given keys must match (all-of)."""

    provider: str | None = None
    source: str | None = None
    billing_account: str | None = None
    account: str | None = None
    service: str | None = None
    sku: str | None = None
    region: str | None = None
    resource: str | None = None  # glob on ResourceId
    charge_category: str | None = None
    tag: str | None = None  # "k=v" or "k"

    @model_validator(mode="after")
    def _not_empty(self) -> Match:
        if not any(getattr(self, k) is not None for k in MATCH_KEYS):
            raise ValueError(f"a match entry needs at least one of {', '.join(MATCH_KEYS)}")
        return self


class Billing(Strict):
    """The tenant as a billing customer: shown on statements, used by exporters."""

    name: str | None = None  # legal name on the statement (default: the tenant's name)
    address: str | None = None  # free text; newlines are kept on the statement
    tax_id: str | None = None
    email: str | None = None
    fossbilling: int | None = None
    blesta: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None


TargetName = Literal["file", "fossbilling", "blesta"]


def _check_locale(value: str | None) -> str | None:
    if value is None:
        return None
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(value)
    except (ValueError, UnknownLocaleError):
        raise ValueError(f"unknown locale {value!r} (use a code like en_US, de_DE, fr_FR)") \
            from None
    return value


class Issuer(Strict):
    """Who sends the statements (``[issuer]``)."""

    name: str
    address: str | None = None
    tax_id: str | None = None
    email: str | None = None
    logo: Path | None = None  # PNG/JPEG/SVG, relative to the config file
    payment_days: int = Field(default=30, ge=0, le=365)  # due date = issue date + this


class Tenant(Strict):
    id: SafeId
    name: str | None = None
    target: TargetName | None = None  # billing target; default: [rebill].export_to
    currency: Currency | None = None  # default: [rebill].currency
    markup: Percent = Decimal(0)
    start: date | None = None  # inclusive
    end: date | None = None  # exclusive
    minimum: Money | None = None
    budget: Money | None = None  # monthly, tenant currency
    taxable: bool = True
    match: list[Match] = Field(default_factory=list)
    billing: Billing = Field(default_factory=Billing)
    locale: str | None = None  # statement number format; default from the currency

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return _check_locale(value)

    @model_validator(mode="after")
    def _window(self) -> Tenant:
        if self.start and self.end and self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    @field_validator("minimum", "budget")
    @classmethod
    def _not_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError(f"{value} must not be negative")
        return value


class Pricing(Strict):
    tenant: str | None = None
    provider: str | None = None
    service: str | None = None
    sku: str | None = None
    region: str | None = None
    charge_category: str | None = None
    markup: Percent


class SharedPool(Strict):
    name: SafeId
    match: list[Match] = Field(min_length=1)
    allocate: Literal["even", "proportional", "weights"] = "proportional"
    weights: dict[str, Money] | None = None
    tenants: list[str] | None = None

    @model_validator(mode="after")
    def _weights(self) -> SharedPool:
        if self.allocate == "weights" and not self.weights:
            raise ValueError("allocate = \"weights\" needs a weights table")
        if self.weights and any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must not be negative")
        return self


class Fee(Strict):
    tenant: str
    description: str
    amount: Money
    every: Literal["month", "once"] = "month"
    date: dt.date | None = None
    prorate: bool = False
    credit: bool = False  # a negative amount (a credit to the customer) must say so

    @model_validator(mode="after")
    def _once(self) -> Fee:
        if self.every == "once" and self.date is None:
            raise ValueError("every = \"once\" needs a date")
        if self.amount < 0 and not self.credit:
            raise ValueError(f"amount {self.amount} is negative: a credit needs credit = true")
        if self.amount > 0 and self.credit:
            raise ValueError(f"credit = true needs a negative amount, got {self.amount}")
        return self


class Fx(Strict):
    path: Path = Path("fx.csv")


class FossBilling(Strict):
    url: str
    api_key_env: str = "FOSSBILLING_API_KEY"
    create_clients: bool = False
    due_days: int = Field(default=14, ge=0)
    approve: bool = True
    timeout: float = 30.0


class Blesta(Strict):
    url: str
    user_env: str = "BLESTA_API_USER"
    key_env: str = "BLESTA_API_KEY"
    create_clients: bool = False
    client_group_id: int = 1
    company_id: int = Field(default=1, ge=1)  # the Blesta company the API user belongs to
    due_days: int = Field(default=14, ge=0)
    status: Literal["active", "draft", "proforma"] = "active"
    timeout: float = 30.0


class Exporters(Strict):
    fossbilling: FossBilling | None = None
    blesta: Blesta | None = None


class Alerts(Strict):
    webhook_env: str = "REBILL_ALERT_WEBHOOK"  # env var holding the webhook URL (a secret)


class Nightly(Strict):
    cron: str = "0 3 * * *"
    timezone: str = "UTC"
    dask: bool = False
    dask_workers: int = Field(default=2, ge=1)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        problem = cron_problem(value)
        if problem:
            raise ValueError(f"{value!r} is not a cron expression: {problem}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (such as Europe/Berlin)"
                             ) from None
        return value


class Settings(Strict):
    home: Path = Path("data")
    currency: Currency = "USD"
    cost_basis: Literal["billed", "effective", "list"] = "billed"
    provider_tax: Literal["exclude", "passthrough"] = "exclude"
    group_by: list[str] = Field(default_factory=lambda: ["provider", "service"])
    close_day: int = Field(default=5, ge=1, le=28)
    export_to: TargetName = "file"
    lake_uri: str | None = None  # s3://bucket/prefix for an object-store lake
    lake_endpoint: str | None = None  # S3-compatible store; else $AWS_ENDPOINT_URL
    memory_limit: str = "2GB"  # a size such as 512MB or 2GB (checked: it reaches SQL)

    @field_validator("lake_uri")
    @classmethod
    def _lake_uri(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("s3://")
                                  or not value.removeprefix("s3://").split("/", 1)[0]):
            raise ValueError(f"{value!r} must look like s3://bucket/prefix")
        return value

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, value: str) -> str:
        if not MEMORY_LIMIT_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a size such as 512MB or 2GB")
        return value

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: list[str]) -> list[str]:
        bad = [k for k in value if k not in GROUP_BY_KEYS]
        if bad:
            raise ValueError(f"unknown group_by key {bad[0]!r}; use {', '.join(GROUP_BY_KEYS)}")
        return value


class Config(Strict):
    rebill: Settings = Field(default_factory=Settings)
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    fx: Fx | None = None
    issuer: Issuer | None = None
    tenants: list[Tenant] = Field(default_factory=list)
    pricing: list[Pricing] = Field(default_factory=list)
    shared: list[SharedPool] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    exporters: Exporters = Field(default_factory=Exporters)
    nightly: Nightly = Field(default_factory=Nightly)
    alerts: Alerts | None = None

    # Where the file was read from; relative paths resolve against its folder.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    file: Path | None = Field(default=None, exclude=True)

    @field_validator("sources")
    @classmethod
    def _source_ids(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for source_id in value:
            if not SAFE_ID_RE.match(source_id):
                raise ValueError(f"source id {source_id!r} is not safe: {SAFE_ID_HINT}")
        return value

    @model_validator(mode="after")
    def _home_is_a_folder(self) -> Config:
        if self.home.exists() and not self.home.is_dir():
            raise ValueError(f"rebill.home: {self.home} is a file, not a folder")
        return self

    @model_validator(mode="after")
    def _unique(self) -> Config:
        ids = [t.id for t in self.tenants]
        dup = next((i for i in ids if ids.count(i) > 1), None)
        if dup:
            raise ValueError(f"tenant id {dup!r} appears twice")
        for i, t in enumerate(self.tenants):
            if t.target in ("fossbilling", "blesta") and getattr(self.exporters, t.target) is None:
                raise ValueError(f"tenants[{i}].target: {t.target!r} needs an "
                                 f"[exporters.{t.target}] table")
        pools = [p.name for p in self.shared]
        dup = next((p for p in pools if pools.count(p) > 1), None)
        if dup:
            raise ValueError(f"shared pool {dup!r} appears twice")
        return self

    @property
    def home(self) -> Path:
        return (self.base_dir / self.rebill.home).resolve()

    def resolve(self, path: Path | str) -> Path:
        """A path from the file, relative to the file's folder."""
        return (self.base_dir / Path(path)).resolve()

    def tenant(self, tenant_id: str) -> Tenant:
        for t in self.tenants:
            if t.id == tenant_id:
                return t
        raise ConfigError(f"unknown tenant {tenant_id!r}")

    def tenant_currency(self, tenant: Tenant) -> str:
        return tenant.currency or self.rebill.currency

    def tenant_target(self, tenant_id: str) -> str:
        """Where a tenant's invoices go: its ``target``, else ``[rebill].export_to``."""
        tenant = next((t for t in self.tenants if t.id == tenant_id), None)
        return (tenant.target if tenant else None) or self.rebill.export_to

    def match_sources(self) -> list[tuple[str, str]]:
        """(key, source id) of every ``source`` a tenant or pool match names."""
        entries = [(f"tenants[{i}]", t.match) for i, t in enumerate(self.tenants)]
        entries += [(f"shared[{i}]", p.match) for i, p in enumerate(self.shared)]
        return [(f"{where}.match[{j}].source", m.source) for where, matches in entries
                for j, m in enumerate(matches) if m.source is not None]


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "constrained-")):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def format_validation_error(where: str, err: ValidationError) -> str:
    first = err.errors()[0]
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    loc = _loc(first["loc"])
    return f"{where}: {loc}: {msg}{more}" if loc else f"{where}: {msg}{more}"


def config_path(explicit: Path | None) -> Path | None:
    """The config file to read: --config, else $REBILL_CONFIG, else ./rebill.toml if present."""
    if explicit is not None:
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG)
    return default if default.exists() else None


def parse_config(data: dict[str, Any], where: str, base_dir: Path) -> Config:
    try:
        cfg = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as err:
        raise ConfigError(format_validation_error(where, err)) from None
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    return cfg


def load_config(explicit: Path | None = None) -> Config:
    """Read and validate the configuration; a missing default file gives defaults."""
    path = config_path(explicit)
    if path is None:
        return parse_config({}, DEFAULT_CONFIG, Path.cwd())
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh, parse_float=Decimal)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    cfg = parse_config(data, str(path), path.resolve().parent)
    return cfg.model_copy(update={"file": path.resolve()})


def secret_from_env(var: str, what: str) -> str:
    """Read a secret from the environment; a missing one names the variable."""
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"{what}: environment variable {var} is not set")
    return value
