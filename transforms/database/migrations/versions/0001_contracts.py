"""The contracts table.

Revision ID: 0001_contracts
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_contracts"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opencrime_contracts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("party_code", sa.String(16), nullable=False),
        sa.Column("party_level", sa.String(16), nullable=False),
        sa.Column("party_name", sa.String(200), nullable=False),
        sa.Column("units", sa.Text, nullable=False),
        sa.Column("tier", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_reason", sa.Text),
    )
    op.create_index("ix_opencrime_contracts_party", "opencrime_contracts", ["party_code", "tier"])


def downgrade() -> None:
    op.drop_table("opencrime_contracts")
