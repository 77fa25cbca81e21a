"""match indexes: id at the end of ix_invoice_open_balance, so the amount-only lookup (open invoices with a
balance, first `limit` by id) reads its rows in order off the index instead of fetching and sorting them all

Revision ID: 0008
Revises: 0007
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = {"postgresql_where": sa.text("open_balance > 0"), "sqlite_where": sa.text("open_balance > 0")}


def upgrade() -> None:
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_open_balance", **_OPEN)
        batch_op.create_index("ix_invoice_open_balance", ["business_id", "open_balance", "id"], unique=False, **_OPEN)


def downgrade() -> None:
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_open_balance", **_OPEN)
        batch_op.create_index("ix_invoice_open_balance", ["business_id", "open_balance"], unique=False, **_OPEN)
