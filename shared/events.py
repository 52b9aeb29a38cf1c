"""The events the payment service sends the order service through its outbox, defined once.

The payment service builds them (`model_dump(mode="json")` is the outbox payload) and the
order service takes them as the bodies of its internal routes.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.money import Money

PAID_TOPIC = "payment.paid"
REFUND_TOPIC = "payment.refund"  # a refund settled (succeeded or failed): tell the order service
REFUND_REQUEST_TOPIC = "refund.request"  # a refund to make at Alipay (the relay retries it)


RefundStatus = Literal["pending", "succeeded", "failed"]


MAX_EVENTS_PER_BATCH = 100  # POST /internal/payment-events


class PaidEvent(BaseModel):
    """The order's payment arrived: POST /internal/orders/{order_id}/payment-events, or several
    orders' in one POST /internal/payment-events (the relay)."""

    event_id: str = Field(min_length=1, max_length=100)
    type: Literal["paid"] = "paid"
    order_id: str = Field(min_length=1, max_length=64)
    amount: Money
    trade_no: str = Field(min_length=1, max_length=64)
    paid_at: datetime


class RefundEvent(BaseModel):
    """A refund of the order's payment settled: POST /internal/orders/{order_id}/refund-events.

    `refunded_amount` is the payment's refunded total after it, so events applied out of order
    or twice leave the order right (the order keeps the largest total it has heard).
    """

    event_id: str = Field(min_length=1, max_length=100)
    type: Literal["refund"] = "refund"
    order_id: str = Field(min_length=1, max_length=64)
    refund_id: str = Field(min_length=1, max_length=64)
    amount: Money
    reason: str = Field(max_length=256)
    status: RefundStatus
    error: str | None = Field(None, max_length=1000)
    created_at: datetime
    refunded_amount: Money
