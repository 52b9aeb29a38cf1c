"""refunds: a `failed` status and last_error, for a refund Alipay refused for good

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f("ck_refunds_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_refunds_status_known"), "status IN ('requested', 'succeeded', 'failed')"
        )


def downgrade() -> None:
    # a failed refund goes back to requested: the relay would ask Alipay again
    op.execute("UPDATE refunds SET status = 'requested' WHERE status = 'failed'")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refunds_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_refunds_status_known"), "status IN ('requested', 'succeeded')"
        )
        batch_op.drop_column("last_error")
