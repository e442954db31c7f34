"""The delivery log.

Revision ID: 0002_deliveries
Revises: 0001_contracts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_deliveries"
down_revision = "0001_contracts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opencrime_deliveries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("release", sa.String(64), nullable=False),
        sa.Column("policy_sha256", sa.String(64), nullable=False),
        sa.Column("package_sha256", sa.String(64), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("contract_id", "release", name="uq_opencrime_delivery"),
    )


def downgrade() -> None:
    op.drop_table("opencrime_deliveries")
