"""statement entries: the rows of an imported statement that are not money in (withdrawals, charges, reversals,
transactions that did not complete), kept apart from payments

Revision ID: sources_0014
Revises: hardening_0010
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision: str = "sources_0014"
down_revision: str | None = "hardening_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "statement_entry",
        sa.Column("id", _ID, nullable=False),
        sa.Column("business_id", _ID, nullable=False),
        sa.Column("receipt", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("amount", bot.storage.types.Cents(), nullable=False),
        sa.Column("charge", sa.Boolean(), nullable=False),
        sa.Column("completed_at", bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("details", sa.Text(), server_default="", nullable=False),
        sa.Column("original", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("callback_id", _ID, nullable=True),
        sa.Column("imported_at", bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["callback_id"], ["callback.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "receipt", "kind", "amount", "charge", name="uq_statement_entry"),
    )
    with op.batch_alter_table("statement_entry", schema=None) as batch_op:
        batch_op.create_index("ix_statement_entry_completed", ["business_id", "completed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("statement_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_statement_entry_completed")
    op.drop_table("statement_entry")
