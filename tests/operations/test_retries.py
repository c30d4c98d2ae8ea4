"""Prefect retries a partition only for retriable errors."""

from __future__ import annotations

import pytest

from rebill.errors import (
    AuthError,
    DataContractError,
    FatalConnectorError,
    RetriableConnectorError,
    RetriableExportError,
)
from rebill.flows.ingest import _retry_if_retriable, load_task


class FailedState:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def result(self) -> None:
        raise self.exc


@pytest.mark.parametrize(("exc", "retried"), [
    (RetriableConnectorError("429 throttled"), True),
    (RetriableExportError("503"), True),
    (AuthError("token refused"), False),
    (FatalConnectorError("400"), False),
    (DataContractError("bad batch"), False),
    (RuntimeError("a bug"), False),
])
def test_only_retriable_errors_are_retried(exc: BaseException, retried: bool) -> None:
    assert _retry_if_retriable(load_task, None, FailedState(exc)) is retried


def test_the_load_task_is_wired_to_the_condition() -> None:
    assert load_task.retries == 3
    assert load_task.retry_condition_fn is _retry_if_retriable
