"""refunds: the merchant's own (request_key for Idempotency-Key), those made in Alipay's console

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_key", sa.String(255), nullable=True))
        batch_op.add_column(
            sa.Column("origin", sa.String(16), nullable=False, server_default="late_payment")
        )
        batch_op.create_unique_constraint(
            "uq_refunds_payment_id_request_key", ["payment_id", "request_key"]
        )
        batch_op.create_check_constraint(
            op.f("ck_refunds_origin_known"), "origin IN ('late_payment', 'merchant', 'console')"
        )
        batch_op.create_check_constraint(op.f("ck_refunds_amount_positive"), "amount > 0")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_payments_refund_within_amount"),
            "refunded_amount >= 0 AND refunded_amount <= amount",
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payments_refund_within_amount"), type_="check")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refunds_amount_positive"), type_="check")
        batch_op.drop_constraint(op.f("ck_refunds_origin_known"), type_="check")
        batch_op.drop_constraint("uq_refunds_payment_id_request_key", type_="unique")
        batch_op.drop_column("origin")
        batch_op.drop_column("request_key")
