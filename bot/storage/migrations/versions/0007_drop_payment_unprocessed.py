"""drop ix_payment_unprocessed: the partial ix_payment_pending serves the sweep, and every callback paid for both

Revision ID: 0007
Revises: 0005
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_unprocessed")


def downgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index("ix_payment_unprocessed", ["business_id", "processed_at"], unique=False)
