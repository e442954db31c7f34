"""Alembic's entry point: run on the connection ``transforms.database.open_database`` hands
over, with the project's own version table."""

from __future__ import annotations

from alembic import context

from transforms.database import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
