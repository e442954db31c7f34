"""Task-side configuration: the project's settings, plus retries and owners shared by every DAG."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from opencrime_airflow.alerts import record_failure
from transforms.plumbing.settings import get_settings

OWNER = "opencrime"
TAGS_PIPELINE = "opencrime"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    # after the last try: a failure record under runs/failures/ (opencrime_airflow.alerts)
    "on_failure_callback": record_failure,
}
# Network steps wait longer between tries: the police API answers 429 under load.
NETWORK_RETRIES: dict[str, Any] = {
    "retries": 4,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
}


def _month_start(text: str) -> pendulum.DateTime:
    year, month = text.split("-")
    return pendulum.datetime(int(year), int(month), 1, tz="UTC")


def start_date() -> pendulum.DateTime:
    """First month the police DAG covers (``OPENCRIME_FIRST_MONTH``, default 2013-01)."""
    return _month_start(get_settings().first_month)


def end_date() -> pendulum.DateTime | None:
    """Last month the police DAG covers (``OPENCRIME_LAST_MONTH``), open-ended when unset."""
    last = get_settings().last_month
    return _month_start(last) if last else None


def month_params() -> dict[str, Any]:
    """The ``month`` parameter of the monthly DAGs: a manual run of another month."""
    from airflow.sdk import Param

    from transforms.domain.periods import MONTH_PATTERN

    return {
        "month": Param(
            None,
            type=["null", "string"],
            pattern=MONTH_PATTERN,
            title="Month",
            description="Process this month (YYYY-MM) instead of the run's data interval.",
        )
    }
