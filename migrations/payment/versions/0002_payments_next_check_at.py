"""payments.next_check_at: the reconciler's schedule, so every open payment gets its turn

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL (every existing row) means "not checked yet": due once older than the reconcile delay
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_payments_reconcile_due", ["status", "next_check_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_reconcile_due")
        batch_op.drop_column("next_check_at")
