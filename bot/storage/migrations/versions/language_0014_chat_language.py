"""chat language: the language each chat is answered in (en | sw; NULL = not chosen yet, so the business's
default, or what the person's first messages were written in)

Revision ID: language_0014
Revises: sources_0014
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "language_0014"
down_revision: str | None = "sources_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_state", schema=None) as batch_op:
        batch_op.drop_column("language")
