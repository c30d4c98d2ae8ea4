"""What every export target implements, and the crash-test hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rebill.config import Tenant
from rebill.exporters.model import Invoice

# Called with a step name between remote calls ("invoice_prepared", ...). Tests
# raise from it to simulate a crash at that instant; production passes a no-op.
StepHook = Callable[[str], None]


def no_hook(step: str) -> None:
    """The production hook: do nothing."""


class Target(Protocol):
    name: str

    def plan(self, invoice: Invoice, tenant: Tenant | None) -> list[str]:
        """The requests a push would send, secrets redacted (for --dry-run)."""
        ...

    def push(self, invoice: Invoice, tenant: Tenant | None) -> str:
        """Create (or adopt) the invoice remotely, exactly once; returns its external id."""
        ...

    def close(self) -> None: ...
