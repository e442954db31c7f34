"""Alembic's entry point for the contracts register: run on the connection
``register.open_register`` hands over, with the register's own version table."""

from __future__ import annotations

from alembic import context

from transforms.contracts.register import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
