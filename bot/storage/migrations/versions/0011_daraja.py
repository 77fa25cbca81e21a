"""daraja: per-shortcode Daraja credentials (sealed), the STK pushes Hesabu sends (one open push per invoice and
phone), asynchronous Daraja requests (Transaction Status), and when Safaricom confirmed a payment

Revision ID: daraja_0011
Revises: 0008
Create Date: 2026-12-01 20:36:36
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types


revision: str = 'daraja_0011'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('daraja_credential',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('business_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shortcode', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.Column('registered_version', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('registered_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('pull_registered_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_pull_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_pull', sa.Text(), nullable=False),
    sa.Column('created_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('shortcode')
    )
    with op.batch_alter_table('daraja_credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daraja_credential_business_id'), ['business_id'], unique=False)

    op.create_table('daraja_request',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('business_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('receipt', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('originator_conversation_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('result_code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('asked_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('daraja_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daraja_request_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_daraja_request_originator_conversation_id'), ['originator_conversation_id'], unique=False)

    op.create_table('stk_push',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('business_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('shortcode', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('amount', bot.storage.types.Cents(), nullable=False),
    sa.Column('account_reference', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('asked_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('checkout_request_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('merchant_request_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('result_code', sa.Integer(), nullable=True),
    sa.Column('result_desc', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('trans_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('queries', sa.Integer(), nullable=False),
    sa.Column('next_check_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', bot.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stk_push', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stk_push_checkout_request_id'), ['checkout_request_id'], unique=False)
        batch_op.create_index('ix_stk_push_due', ['status', 'next_check_at'], unique=False)
        batch_op.create_index('uq_stk_push_open', ['business_id', 'invoice_id', 'phone'], unique=True, postgresql_where=sa.text("status IN ('queued', 'sending', 'pending')"), sqlite_where=sa.text("status IN ('queued', 'sending', 'pending')"))

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_at', bot.storage.types.UtcDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_column('confirmed_at')

    with op.batch_alter_table('stk_push', schema=None) as batch_op:
        batch_op.drop_index('uq_stk_push_open', postgresql_where=sa.text("status IN ('queued', 'sending', 'pending')"), sqlite_where=sa.text("status IN ('queued', 'sending', 'pending')"))
        batch_op.drop_index('ix_stk_push_due')
        batch_op.drop_index(batch_op.f('ix_stk_push_checkout_request_id'))

    op.drop_table('stk_push')
    with op.batch_alter_table('daraja_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daraja_request_originator_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_daraja_request_conversation_id'))

    op.drop_table('daraja_request')
    with op.batch_alter_table('daraja_credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daraja_credential_business_id'))

    op.drop_table('daraja_credential')
