"""payment sightings: one payment per receipt, and a row per source that saw it (c2b, stk, pull, sms, statement,
manual) saying whether it confirmed, filled or disagreed; payment.sources lists them for exports

Revision ID: sources_0012
Revises: matching_0013
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision: str = "sources_0012"
down_revision: str | None = "matching_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sources", sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=""))
    op.create_table(
        "payment_sighting",
        sa.Column("id", _ID, nullable=False),
        sa.Column("business_id", _ID, nullable=False),
        sa.Column("payment_id", _ID, nullable=False),
        sa.Column("trans_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("amount", bot.storage.types.Cents(), nullable=False),
        sa.Column("shortcode", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("paid_at", bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("callback_id", _ID, nullable=True),
        sa.Column("seen_at", bot.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["callback_id"], ["callback.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "trans_id", "source", "amount", "shortcode", name="uq_payment_sighting"),
    )
    with op.batch_alter_table("payment_sighting", schema=None) as batch_op:
        batch_op.create_index("ix_payment_sighting_payment_id", ["payment_id"], unique=False)
        batch_op.create_index("ix_payment_sighting_seen", ["business_id", "seen_at"], unique=False)
    # every payment stored so far was seen by the one source that created it
    op.execute("UPDATE payment SET sources = source")
    op.execute(
        "INSERT INTO payment_sighting (business_id, payment_id, trans_id, source, amount, shortcode, reference, "
        "paid_at, outcome, detail, callback_id, seen_at) SELECT business_id, id, trans_id, source, amount, "
        "shortcode, reference, paid_at, 'created', '', callback_id, created_at FROM payment")


def downgrade() -> None:
    with op.batch_alter_table("payment_sighting", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_sighting_seen")
        batch_op.drop_index("ix_payment_sighting_payment_id")
    op.drop_table("payment_sighting")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_column("sources")
