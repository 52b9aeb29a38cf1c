"""The payment database (SQLAlchemy Core): payments, notifies, refunds, outbox."""

import sqlalchemy as sa

from shared.time import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


MONEY = sa.Numeric(12, 2)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("order_id", sa.String(64), nullable=False, unique=True),
    sa.Column("out_trade_no", sa.String(64), nullable=False, unique=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("trade_no", sa.String(64), unique=True),
    sa.Column("pay_deadline", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("paid_at", UTCDateTime()),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("refunded_amount", MONEY, nullable=False, server_default="0"),
    # what Alipay reported when it was paid (NULL when it did not say): a discounted payment has
    # receipt_amount (the merchant's) and buyer_pay_amount below amount, points in point_amount
    sa.Column("receipt_amount", MONEY),
    sa.Column("buyer_pay_amount", MONEY),
    sa.Column("point_amount", MONEY),
    # when the reconciler may query Alipay again; NULL = not checked yet (due once old enough)
    sa.Column("next_check_at", UTCDateTime()),
    sa.CheckConstraint("status IN ('created', 'paid', 'closed', 'refunded')", name="status_known"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint(
        "refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"
    ),
    sa.Index("ix_payments_reconcile_due", "status", "next_check_at"),
)

notifies = sa.Table(
    "notifies",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("raw_body", sa.LargeBinary(), nullable=False),
    sa.Column("raw_text", sa.Text()),
    sa.Column("verified", sa.Boolean(), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("notify_id", sa.String(128)),
    sa.Column("out_trade_no", sa.String(64), index=True),
    sa.Column("trade_status", sa.String(32)),
    # the body as received: an unverified notify keeps only its head in raw_body (issue 10)
    sa.Column("body_sha256", sa.String(64)),
    sa.Column("body_size", sa.Integer()),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("payment_id", sa.BigInteger(), sa.ForeignKey("payments.id"), nullable=False),
    sa.Column("out_request_no", sa.String(64), nullable=False, unique=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("reason", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("refunded_at", UTCDateTime()),
    # failed: Alipay refused it for good (last_error says why); never asked again by itself
    sa.Column("last_error", sa.Text()),
    # the merchant's Idempotency-Key: the same key is the same refund
    sa.Column("request_key", sa.String(255)),
    # late_payment (automatic), merchant (the back office), console (made outside the shop)
    sa.Column("origin", sa.String(16), nullable=False, server_default="late_payment"),
    sa.CheckConstraint("status IN ('requested', 'succeeded', 'failed')", name="status_known"),
    sa.CheckConstraint("origin IN ('late_payment', 'merchant', 'console')", name="origin_known"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.UniqueConstraint("payment_id", "request_key", name="uq_refunds_payment_id_request_key"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("delivered_at", UTCDateTime()),
    sa.Column("last_error", sa.Text()),
    # W3C traceparent of the request that wrote the event (migration 0008); NULL untraced.
    sa.Column("trace_context", sa.String(128)),
    sa.Index("ix_outbox_due", "next_attempt_at", postgresql_where=sa.text("delivered_at IS NULL")),
)

# What the daily reconciliation with Alipay's trade bill found (reconcile-bill).
bill_mismatches = sa.Table(
    "bill_mismatches",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("bill_date", sa.Date(), nullable=False),
    # not_recorded | not_paid_here | missing_from_bill | amount_differs | refund_not_recorded
    # | refund_differs | refund_missing_from_bill
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("out_trade_no", sa.String(64), nullable=False),
    sa.Column("out_request_no", sa.String(64)),
    sa.Column("bill_amount", MONEY),
    sa.Column("recorded_amount", MONEY),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("found_at", UTCDateTime(), nullable=False),
    sa.Index("ix_bill_mismatches_bill_date", "bill_date"),
)

# The nonces of the signed internal calls accepted (payment_service/storage/nonces.py): each
# refused again until `expires_at`; expired rows are deleted now and then. No index on
# expires_at: every accepted call inserts a row, and the purge that scans them is rare.
service_nonces = sa.Table(
    "service_nonces",
    metadata,
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)
