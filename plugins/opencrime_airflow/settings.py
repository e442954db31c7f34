"""The settings a running task uses: the project's settings, overridden by Airflow Variables,
and the police database's URL from an Airflow Connection."""

from __future__ import annotations

from typing import Any

from transforms.plumbing.settings import Settings, get_settings


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
