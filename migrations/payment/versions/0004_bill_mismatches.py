"""bill_mismatches: what reconcile-bill found between Alipay's daily bill and our records

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bill_mismatches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("bill_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("out_trade_no", sa.String(64), nullable=False),
        sa.Column("out_request_no", sa.String(64), nullable=True),
        sa.Column("bill_amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("recorded_amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_mismatches")),
    )
    op.create_index("ix_bill_mismatches_bill_date", "bill_mismatches", ["bill_date"])


def downgrade() -> None:
    op.drop_index("ix_bill_mismatches_bill_date", table_name="bill_mismatches")
    op.drop_table("bill_mismatches")
