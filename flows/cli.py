"""The ``rebill`` command line (typer).

Commands that need no flow (sql, status, check, report) never import Prefect,
so they answer at once. User errors are one line and a non-zero exit.
"""

from __future__ import annotations

import importlib

import typer

from flows.commands import MODULES

app = typer.Typer(
    name="rebill",
    help="Turn multi-cloud bills into customer invoices: ingest, rate, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
