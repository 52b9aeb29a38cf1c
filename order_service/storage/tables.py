"""The order database, as SQLAlchemy Core tables (the migrations are the source of truth)."""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    func,
    text,
)

from shared.time import UTCDateTime

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # made by `python -m order_service create-admin`: may use /api/admin/
    Column("is_admin", Boolean, nullable=False, server_default="false"),
    # Unique regardless of case; log-in looks users up by lower(username).
    Index("uq_users_username_lower", func.lower(text("username")), unique=True),
)

addresses = Table(
    "addresses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("receiver", String(50), nullable=False),
    Column("mobile", String(20), nullable=False),
    Column("province", String(50), nullable=False),
    Column("city", String(50), nullable=False),
    Column("district", String(50), nullable=False),
    Column("place", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

goods = Table(
    "goods",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("description", String(2000), nullable=True),
    # An absolute URL, or /media/… for a picture load-catalog copied into ORDER_MEDIA_DIR.
    Column("image_url", String(500), nullable=True),
    # No sales column: a goods' sales are the sum of its SKUs' (summed in storage/goods.py).
)

skus = Table(
    "skus",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("goods_id", Integer, ForeignKey("goods.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("price", Numeric(10, 2), nullable=False),
    Column("stock", Integer, nullable=False),
    Column("sales", Integer, nullable=False, server_default="0"),
    CheckConstraint("stock >= 0", name="skus_stock_not_negative"),
    CheckConstraint("sales >= 0", name="skus_sales_not_negative"),
    CheckConstraint("price >= 0", name="skus_price_not_negative"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("address_id", Integer, ForeignKey("addresses.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("pay_method", String(20), nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("freight", Numeric(10, 2), nullable=False),
    Column("total_amount", Numeric(12, 2), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("pay_deadline", UTCDateTime(), nullable=True),
    Column("paid_at", UTCDateTime(), nullable=True),
    Column("trade_no", String(64), nullable=True),
    Column("canceled_at", UTCDateTime(), nullable=True),
    Column("cancel_reason", String(20), nullable=True),
    # The expiry sweeper leases an order while it asks the payment service to close it.
    Column("sweep_lease_until", UTCDateTime(), nullable=True),
    # what the payment service reports refunded (events carry the cumulative amount)
    Column("refunded_amount", Numeric(12, 2), nullable=False, server_default="0"),
    Column("carrier", String(50), nullable=True),
    Column("tracking_no", String(64), nullable=True),
    Column("shipped_at", UTCDateTime(), nullable=True),
    Column("received_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    CheckConstraint(
        "status IN ('unpaid', 'unsent', 'unreceived', 'uncomment', 'finished', 'canceled',"
        " 'refunded')",
        name="orders_status_known",
    ),
    CheckConstraint(
        "refunded_amount >= 0 AND refunded_amount <= total_amount",
        name="orders_refund_within_total",
    ),
)

Index("orders_user_created", orders.c.user_id, orders.c.created_at)
Index("orders_status_deadline", orders.c.status, orders.c.pay_deadline)
Index("orders_created", orders.c.created_at)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", String(64), ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("count", Integer, nullable=False),
    Column("price", Numeric(10, 2), nullable=False),
    CheckConstraint("count > 0", name="order_lines_count_positive"),
)

# The primary key (user_id, key) is the unique key that makes a retried POST /api/orders answer
# the first order instead of placing a second one.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_digest", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# One comment per line of an order (the buyer's score and words), written when it is finished.
order_comments = Table(
    "order_comments",
    metadata,
    Column("order_id", String(64), ForeignKey("orders.order_id"), primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("comment", String(1000), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("score BETWEEN 1 AND 5", name="order_comments_score_range"),
)

# The order service's copy of its orders' refunds; the payment service makes them at Alipay and
# owns them, its events keep this copy current. refund_id is the refund's out_request_no.
order_refunds = Table(
    "order_refunds",
    metadata,
    Column("refund_id", String(64), primary_key=True),
    Column("order_id", String(64), ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("reason", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", String(1000), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint(
        "status IN ('pending', 'succeeded', 'failed')", name="order_refunds_status_known"
    ),
)
