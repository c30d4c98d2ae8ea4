"""``rebill export``: push a period's invoices to file, FOSSBilling or Blesta."""

from __future__ import annotations

from typing import Annotated

import typer

from rebill.flows.common import ConfigOpt, config, setup_logging, user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    def export(
        period: Annotated[str, typer.Option("--period", help="Billing period, YYYY-MM")],
        target: Annotated[str | None, typer.Option(
            "--target", help="file (JSON + CSV under <home>/exports/<period>/), "
                             "fossbilling or blesta; default: each tenant's own target "
                             "(tenant target, else [rebill].export_to)")] = None,
        tenant: Annotated[str | None, typer.Option(
            "--tenant", help="Export only this tenant's invoice")] = None,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="Print the requests (secrets redacted); change nothing")] = False,
        allow_open: Annotated[bool, typer.Option(
            "--allow-open", help="Export even if the period has not closed ([rebill] close_day) "
                                 "or holds estimated rows (its invoice then is final as is)")] = False,
        config_path: ConfigOpt = None,
    ) -> None:
        """Export the period's invoices, at most once per tenant, period and target."""
        setup_logging()
        cfg = config(config_path)
        with user_errors():
            from rebill.exporters.run import export_period

            outcome = export_period(cfg, period, target, tenant=tenant, dry_run=dry_run,
                                    echo=typer.echo, allow_open=allow_open)
            if not dry_run:
                typer.echo(f"{len(outcome.exported)} exported, {len(outcome.skipped)} "
                           "already exported")

    @app.command()
    def reconcile(
        period: Annotated[str | None, typer.Option(
            "--period", help="Only invoices of this period, YYYY-MM (default: all exported)")
        ] = None,
        config_path: ConfigOpt = None,
    ) -> None:
        """Read every exported invoice back from its target (never changing it): payment
        status into `receivables`, drift from the exported lines into `reconciliation`."""
        setup_logging()
        cfg = config(config_path)
        with user_errors():
            from rebill.exporters.reconcile import reconcile as run_reconcile

            report = run_reconcile(cfg, period, echo=typer.echo)
        typer.echo(f"{len(report.receivables)} invoice(s) read back, {len(report.drift)} "
                   f"drift row(s), {len(report.failed)} failed")
        if report.drift or report.failed:
            raise typer.Exit(1)
