"""The machine's PostgreSQL (127.0.0.1:5432, trust auth): a fresh database per test, then gone."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def sqlalchemy_url(database: str) -> str:
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"


@contextmanager
def temporary_database(prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<random>``, yield its name, drop it (with any connection still open).
    Skips the test where no PostgreSQL answers."""
    import psycopg2

    try:
        admin = psycopg2.connect(dbname="postgres", connect_timeout=3, **POSTGRES)
    except psycopg2.OperationalError:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    admin.autocommit = True
    name = f"{prefix}_{secrets.token_hex(5)}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
