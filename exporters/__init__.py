"""Exporters: push finished invoices to a billing target, idempotently.

Targets: ``file`` (JSON + CSV under ``<home>/exports/<period>/``),
``fossbilling`` and ``blesta``. See docs/exporters.md.
"""

from rebill.exporters.corrections import corrections_for
from rebill.exporters.run import TARGETS, Outcome, export_period

__all__ = ["TARGETS", "Outcome", "corrections_for", "export_period"]
