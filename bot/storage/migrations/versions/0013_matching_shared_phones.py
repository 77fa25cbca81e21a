"""shared phones: one phone may belong to several customers of a business (a parent's phone on every child,
a transporter paying for three shops), so customer_phone is unique per (business, phone, customer)

Revision ID: matching_0013
Revises: daraja_0011
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "matching_0013"
down_revision: str | None = "daraja_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_phone", schema=None) as batch_op:
        batch_op.drop_constraint("uq_customer_phone", type_="unique")
        batch_op.create_unique_constraint("uq_customer_phone", ["business_id", "phone", "customer_id"])


def downgrade() -> None:
    # a phone kept on several customers stays on the first of them only
    op.execute(sa.text("DELETE FROM customer_phone WHERE id NOT IN "
                       "(SELECT MIN(id) FROM customer_phone GROUP BY business_id, phone)"))
    with op.batch_alter_table("customer_phone", schema=None) as batch_op:
        batch_op.drop_constraint("uq_customer_phone", type_="unique")
        batch_op.create_unique_constraint("uq_customer_phone", ["business_id", "phone"])
