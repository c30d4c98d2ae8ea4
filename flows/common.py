"""What every CLI command shares: config loading, one-line errors, output."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from rebill.config import DEFAULT_CONFIG, Config, load_config
from rebill.connectors.registry import validate_source_config
from rebill.errors import RebillError
from rebill.normalize.store import use as use_lake
from rebill.redact import install_log_filter, redact, register_env

F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="rebill.toml to use (default: $REBILL_CONFIG, ./rebill.toml)"),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr (secrets masked) and exit non-zero."""
    typer.secho(f"error: {redact(message)}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a RebillError into one line on stderr and exit 1 (no traceback)."""
    try:
        yield
    except RebillError as err:
        fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    except KeyboardInterrupt:
        fail("interrupted", 130)


def open_config(path: Path | None) -> Config:
    """Load the configuration for a run: the core model, each source's own options
    (checked by its connector), and the lake it names (registered for DuckDB).

    :func:`rebill.config.load_config` alone has no side effects; this is the one
    place a run turns a file into a working configuration.
    """
    cfg = load_config(path)
    register_env(secret_env_names(cfg))
    for source_id, raw in cfg.sources.items():
        validate_source_config(source_id, raw, str(cfg.file or DEFAULT_CONFIG))
    use_lake(cfg)
    return cfg


def secret_env_names(cfg: Config) -> list[str]:
    """Every environment variable a ``*_env`` key of ``cfg`` names (sources, exporters)."""
    names = [str(v) for raw in cfg.sources.values() for k, v in raw.items()
             if k.endswith("_env") and isinstance(v, str)]
    for target in (cfg.exporters.fossbilling, cfg.exporters.blesta):
        if target is not None:
            names += [str(v) for k, v in target.model_dump().items() if k.endswith("_env")]
    return names


def config(path: Path | None) -> Config:
    with user_errors():
        return open_config(path)


def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    install_log_filter()
    for noisy in ("botocore", "urllib3", "httpx", "httpcore", "prefect", "azure", "google"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def quiet_prefect_env() -> None:
    """Environment for Prefect's embedded mode (no telemetry, tolerant start-up)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
