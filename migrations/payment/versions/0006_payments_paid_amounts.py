"""payments: the amount breakdown Alipay reports for a payment (a discount, points)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("receipt_amount", "buyer_pay_amount", "point_amount")


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Numeric(12, 2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
