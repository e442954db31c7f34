"""A report remembers the release in which the figure it was about changed.

Revision ID: 0005_feedback_revisions
Revises: 0004_feedback
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_feedback_revisions"
down_revision = "0004_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opencrime_feedback") as table:
        table.add_column(sa.Column("revised_in", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("opencrime_feedback") as table:
        table.drop_column("revised_in")
