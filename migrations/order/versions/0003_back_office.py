"""Back office: admins, shipments, receipt and comments, refunds; a CHECK on order status.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("unpaid", "unsent", "unreceived", "uncomment", "finished", "canceled", "refunded")
OLD_STATUSES = STATUSES[:-1]


def _status_check(statuses) -> str:
    return "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")"


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(
            sa.Column("refunded_amount", sa.Numeric(12, 2), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("carrier", sa.String(50), nullable=True))
        batch_op.add_column(sa.Column("tracking_no", sa.String(64), nullable=True))
        batch_op.add_column(_time("shipped_at"))
        batch_op.add_column(_time("received_at"))
        batch_op.add_column(_time("finished_at"))
        batch_op.create_check_constraint("orders_status_known", _status_check(STATUSES))
        batch_op.create_check_constraint(
            "orders_refund_within_total", "refunded_amount >= 0 AND refunded_amount <= total_amount"
        )
    op.create_index("orders_created", "orders", ["created_at"])
    op.create_table(
        "order_comments",
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.order_id"), primary_key=True),
        sa.Column("sku_id", sa.Integer, sa.ForeignKey("skus.id"), primary_key=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.String(1000), nullable=False),
        _time("created_at", nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="order_comments_score_range"),
    )
    op.create_table(
        "order_refunds",
        sa.Column("refund_id", sa.String(64), primary_key=True),
        sa.Column(
            "order_id", sa.String(64), sa.ForeignKey("orders.order_id"), nullable=False, index=True
        ),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("reason", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.String(1000), nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name="order_refunds_status_known"
        ),
    )


def downgrade() -> None:
    op.drop_table("order_refunds")
    op.drop_table("order_comments")
    op.drop_index("orders_created", table_name="orders")
    op.execute("UPDATE orders SET status = 'canceled' WHERE status = 'refunded'")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint("orders_refund_within_total", type_="check")
        batch_op.drop_constraint("orders_status_known", type_="check")
        for column in (
            "finished_at",
            "received_at",
            "shipped_at",
            "tracking_no",
            "carrier",
            "refunded_amount",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("is_admin")
