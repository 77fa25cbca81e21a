"""summaries: the dispatch record of scheduled messages (one per business, kind and local day), and an index
of open invoices by due date for the summary's overdue and due-today figures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('summary_dispatch',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('business_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('queued', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('business_id', 'kind', 'day', name='uq_summary_dispatch')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_open_due', ['business_id', 'due'], unique=False,
                              postgresql_where=sa.text('open_balance > 0'), sqlite_where=sa.text('open_balance > 0'))


def downgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_open_due', postgresql_where=sa.text('open_balance > 0'),
                            sqlite_where=sa.text('open_balance > 0'))
    op.drop_table('summary_dispatch')
