"""Recipients' public keys carry their kind (``opencrime-recipient-public:…``): the column is
widened, and keys registered before as bare base64 get the prefix they always meant.

Revision ID: 0003_typed_keys
Revises: 0002_deliveries
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_typed_keys"
down_revision = "0002_deliveries"
branch_labels = None
depends_on = None

PREFIX = "opencrime-recipient-public:"


def upgrade() -> None:
    with op.batch_alter_table("opencrime_contracts") as table:
        table.alter_column("public_key", type_=sa.String(128), existing_nullable=False)
    op.execute(
        sa.text(
            "UPDATE opencrime_contracts SET public_key = :prefix || public_key "
            "WHERE public_key NOT LIKE 'opencrime-%'"
        ).bindparams(prefix=PREFIX)
    )


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE opencrime_contracts SET public_key = substr(public_key, :start) "
            "WHERE public_key LIKE :pattern"
        ).bindparams(start=len(PREFIX) + 1, pattern=PREFIX + "%")
    )
    with op.batch_alter_table("opencrime_contracts") as table:
        table.alter_column("public_key", type_=sa.String(64), existing_nullable=False)
