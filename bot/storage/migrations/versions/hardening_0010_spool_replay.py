"""spool_replay: the key of every spooled callback already put into the database, written in the same
transaction as its journal row, so a replay interrupted part-way (the database drops again, the process
dies) never journals a callback twice

Revision ID: hardening_0010
Revises: sources_0012
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "hardening_0010"
down_revision: str | None = "sources_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spool_replay",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("replayed_at", bot.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("spool_replay")
