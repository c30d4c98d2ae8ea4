"""The ``rebill`` command line (typer).

Commands that need no flow (sql, status, check, report) never import Prefect,
so they answer at once. User errors are one line and a non-zero exit.
"""

from __future__ import annotations

import importlib

import typer

from rebill import __version__
from rebill.flows.commands import MODULES

app = typer.Typer(
    name="rebill",
    help="Turn multi-cloud bills into customer invoices: ingest, rate, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rebill {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print rebill's version and exit."),
) -> None:
    """Turn multi-cloud bills into customer invoices: ingest, rate, export."""

for _module in MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
