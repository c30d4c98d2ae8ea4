"""Send rebill's own log lines to the Prefect run they belong to.

rebill logs through ``logging.getLogger("rebill.*")``, which Prefect does not
collect by itself. Inside a flow, :func:`run_logs` attaches Prefect's API log
handler to the ``rebill`` logger (once, even when ``PREFECT_LOGGING_EXTRA_LOGGERS``
already names it) and lowers its level to INFO, so every line of the run (tasks
in worker threads included: they carry the run's context) shows in the UI.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def run_logs(name: str = "rebill") -> Iterator[None]:
    from prefect.logging.handlers import APILogHandler

    logger = logging.getLogger(name)
    added: APILogHandler | None = None
    if not any(isinstance(h, APILogHandler) for h in logger.handlers):
        added = APILogHandler()
        added.setLevel(logging.INFO)
        logger.addHandler(added)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)
        if added is not None:
            added.flush()
            logger.removeHandler(added)


class _NotRunFailed(logging.Filter):
    """Drop Prefect's console echo of a run that ended Failed on purpose (the CLI prints it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "RunFailedError" and "RunFailedError" not in record.getMessage()


def quiet_console_failures() -> None:
    """On a terminal the failures are printed once by the command, not again by Prefect."""
    from prefect.logging.handlers import APILogHandler

    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict)
                                     if n.startswith("prefect"))]
    for logger in loggers:
        for handler in logger.handlers:
            if not isinstance(handler, APILogHandler) and not any(
                    isinstance(f, _NotRunFailed) for f in handler.filters):
                handler.addFilter(_NotRunFailed())
