"""Feedback reports, their history and the requests counted for the rate limit.

Revision ID: 0004_feedback
Revises: 0003_typed_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_feedback"
down_revision = "0003_typed_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opencrime_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("release", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("offence_group", sa.String(64)),
        sa.Column("point_class", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("redacted", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("copies", sa.Integer, nullable=False),
        sa.Column("contract_id", sa.String(64)),
        sa.Column("police_units", sa.Text),
        sa.Column("answer", sa.Text),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_opencrime_feedback_status", "opencrime_feedback", ["status"])
    op.create_table(
        "opencrime_feedback_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("opencrime_feedback.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "opencrime_feedback_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_opencrime_feedback_requests_client", "opencrime_feedback_requests", ["client", "at"]
    )


def downgrade() -> None:
    op.drop_table("opencrime_feedback_requests")
    op.drop_table("opencrime_feedback_history")
    op.drop_index("ix_opencrime_feedback_status", "opencrime_feedback")
    op.drop_table("opencrime_feedback")
