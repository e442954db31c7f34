"""Task-side configuration: the project's settings, plus retries and owners shared by every DAG."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from opencrime_airflow.alerts import record_failure
from transforms.settings import Settings, get_settings

OWNER = "opencrime"
TAGS_PIPELINE = "opencrime"
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"  # a month parameter, YYYY-MM

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


def task_settings() -> Settings:
    """Settings for a running task: environment variables, overridden by Airflow Variables
    named like the setting (``opencrime_data_root``, ``opencrime_quarantine_limit``, …)."""
    from airflow.sdk import Variable

    overrides: dict[str, Any] = {}
    for field in ("data_root", "data_in", "quarantine_limit", "dataset_id"):
        value = Variable.get(f"opencrime_{field}", default=None)
        if value is not None:
            overrides[field] = value
    return get_settings(**overrides)


def police_database_url(settings: Settings) -> str | None:
    """The SQLAlchemy URL of the police database Connection, when the settings name one."""
    if not settings.police_sql_conn_id:
        return None
    from airflow.sdk import BaseHook

    from transforms.sources.police_sql import sqlalchemy_url

    connection = BaseHook.get_connection(settings.police_sql_conn_id)
    return sqlalchemy_url(
        connection.conn_type or "",
        host=connection.host,
        login=connection.login,
        password=connection.password,
        schema=connection.schema,
        port=connection.port,
        extra=connection.extra_dejson,
    )
