"""The connector registry: one line per source type.

Entries are import paths, so a command touching only the ``focus`` source
never imports boto3 or the Google SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from rebill.connectors.base import Connector, ConnectorSpec, Context, SourceConfig
from rebill.errors import ConfigError

REGISTRY: dict[str, str] = {
    "focus": "rebill.connectors.focus.connector:SPEC",
    "digitalocean": "rebill.connectors.digitalocean.connector:SPEC",
    "linode": "rebill.connectors.linode.connector:SPEC",
    "aws_cur": "rebill.connectors.aws.cur:SPEC",
    "aws_cost_explorer": "rebill.connectors.aws.cost_explorer:SPEC",
    "gcp_bigquery": "rebill.connectors.gcp.bigquery:SPEC",
}


def spec(source_type: str) -> ConnectorSpec:
    try:
        target = REGISTRY[source_type]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(f"unknown source type {source_type!r}; known: {known}") from None
    module, _, attr = target.partition(":")
    found: ConnectorSpec = getattr(importlib.import_module(module), attr)
    return found


def validate_source_config(source_id: str, raw: dict[str, Any], where: str) -> SourceConfig:
    """Validate one ``[sources.<id>]`` table against its connector's model."""
    from rebill.config import format_validation_error

    source_type = raw.get("type")
    if not isinstance(source_type, str):
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(f"{where}: sources.{source_id}.type: missing (one of {known})")
    try:
        s = spec(source_type)
    except ConfigError as err:
        raise ConfigError(f"{where}: sources.{source_id}.type: {err}") from None
    try:
        return s.config_model.model_validate(raw)
    except ValidationError as err:
        msg = format_validation_error(where, err)
        raise ConfigError(msg.replace(f"{where}: ", f"{where}: sources.{source_id}.", 1)) from None


def build(source_id: str, raw: dict[str, Any], ctx: Context, where: str = "config") -> Connector:
    cfg = validate_source_config(source_id, raw, where)
    return spec(cfg.type).factory(source_id, cfg, ctx)
