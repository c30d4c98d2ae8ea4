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

from rebill.config import Config, load_config
from rebill.errors import RebillError

F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="rebill.toml to use (default: $REBILL_CONFIG, ./rebill.toml)"),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
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


def config(path: Path | None) -> Config:
    with user_errors():
        return load_config(path)


def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    for noisy in ("botocore", "urllib3", "httpx", "httpcore", "prefect", "azure", "google"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def quiet_prefect_env() -> None:
    """Environment for Prefect's embedded mode (no telemetry, tolerant start-up)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
