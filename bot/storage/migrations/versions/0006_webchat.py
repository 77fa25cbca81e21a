"""web chat: the messages of the local chat page (/chat), one row per message, edited in place

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-28 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types


revision: str = '0006'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_message',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('choices', sa.Text(), nullable=False),
    sa.Column('picture', sa.LargeBinary(), nullable=True),
    sa.Column('document', sa.LargeBinary(), nullable=True),
    sa.Column('document_name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('document_mime', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_web_message_chat_updated', 'web_message', ['chat_id', 'updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_message_chat_updated', table_name='web_message')
    op.drop_table('web_message')
