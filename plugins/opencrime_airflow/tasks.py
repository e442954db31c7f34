"""What every task of the project's DAGs shares: how it fails, and which month it covers.

``step`` is ``airflow.sdk.task`` for the pipeline's steps. A failure that a retry cannot heal
(:class:`transforms.plumbing.errors.PermanentFailure`: a validation verdict, a damaged local
file, a bad request) fails the task at once, with its message, instead of waiting through the
retries that are meant for outages. The function's docstring is the task's documentation in the UI.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from airflow.sdk import get_current_context, task

from transforms.domain.periods import Month
from transforms.plumbing.errors import PermanentFailure

Function = TypeVar("Function", bound=Callable[..., Any])


def step(**task_arguments: Any) -> Callable[[Function], Any]:
    """A TaskFlow task whose :class:`PermanentFailure` ends the task without retries."""

    def decorate(function: Function) -> Any:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except PermanentFailure as error:
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(str(error)) from error

        # given, not left to TaskFlow: a mapped task does not take it from the docstring
        return task(**({"doc_md": inspect.getdoc(function)} | task_arguments))(run)

    return decorate


def run_month() -> Month:
    """The month a run covers: its ``month`` parameter when given, else its data interval."""
    context = get_current_context()
    chosen = context["params"].get("month")
    if chosen:
        return Month.parse(str(chosen))
    start = context["data_interval_start"]
    assert start is not None, "a run without a data interval needs the month parameter"
    return Month(start.year, start.month)


def run_id() -> str:
    """The running DagRun's id (names the run's Data Docs and failure records)."""
    return str(get_current_context()["run_id"])
