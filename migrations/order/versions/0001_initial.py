"""Users, addresses, catalog (goods and skus), orders, order lines, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _time("created_at"),
    )
    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("receiver", sa.String(50), nullable=False),
        sa.Column("mobile", sa.String(20), nullable=False),
        sa.Column("province", sa.String(50), nullable=False),
        sa.Column("city", sa.String(50), nullable=False),
        sa.Column("district", sa.String(50), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        _time("created_at"),
    )
    op.create_table(
        "goods",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("sales", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("sales >= 0", name="goods_sales_not_negative"),
    )
    op.create_table(
        "skus",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("goods_id", sa.Integer, sa.ForeignKey("goods.id"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("sales", sa.Integer, nullable=False, server_default="0"),
        # The database's own guard under the application's checks: stock never goes negative.
        sa.CheckConstraint("stock >= 0", name="skus_stock_not_negative"),
        sa.CheckConstraint("sales >= 0", name="skus_sales_not_negative"),
        sa.CheckConstraint("price >= 0", name="skus_price_not_negative"),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("address_id", sa.Integer, sa.ForeignKey("addresses.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("pay_method", sa.String(20), nullable=False),
        sa.Column("total_count", sa.Integer, nullable=False),
        sa.Column("freight", sa.Numeric(10, 2), nullable=False),
        sa.Column("total_amount", sa.Numeric(12, 2), nullable=False),
        _time("created_at"),
        _time("pay_deadline", nullable=True),
        _time("paid_at", nullable=True),
        sa.Column("trade_no", sa.String(64), nullable=True),
        _time("canceled_at", nullable=True),
        sa.Column("cancel_reason", sa.String(20), nullable=True),
        _time("sweep_lease_until", nullable=True),
    )
    op.create_index("orders_user_created", "orders", ["user_id", "created_at"])
    op.create_index("orders_status_deadline", "orders", ["status", "pay_deadline"])
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "order_id", sa.String(64), sa.ForeignKey("orders.order_id"), nullable=False, index=True
        ),
        sa.Column("sku_id", sa.Integer, sa.ForeignKey("skus.id"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.CheckConstraint("count > 0", name="order_lines_count_positive"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        _time("created_at"),
    )


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "order_lines",
        "orders",
        "skus",
        "goods",
        "addresses",
        "users",
    ):
        op.drop_table(table)
