"""The project's own tables (the contract register, its delivery log, the feedback reports) in
one SQL database through SQLAlchemy, beside Airflow's in the compose stack, their schema made by
the Alembic migrations in ``migrations/`` with a version table of their own."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "opencrime_alembic_version"  # beside Airflow's own, in a shared database


def open_database(url: str, revision: str = "head") -> sa.Engine:
    """The database at ``url``, its schema migrated to the newest revision (``revision``: to
    that one, for a test of a later migration)."""
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return engine
