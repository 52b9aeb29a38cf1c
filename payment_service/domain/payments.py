"""Payment states and the moves between them.

created → paid → refunded; created → closed; closed → paid (a genuine payment that lands after
the trade was closed here: it is recorded, then refunded because its order is cancelled).
Nothing ever moves back: a repeat or out-of-order notify cannot undo a payment.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final, Literal


class PaymentStatus(StrEnum):
    CREATED = "created"
    PAID = "paid"
    CLOSED = "closed"
    REFUNDED = "refunded"


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # Alipay refused it for good; a person asks again (retry-refund)


class RefundOrigin(StrEnum):
    LATE_PAYMENT = "late_payment"  # automatic: paid after the order was cancelled
    MERCHANT = "merchant"  # the back office's refund
    CONSOLE = "console"  # made outside the shop (Alipay's console), learnt from its notify


CloseOutcome = Literal[PaymentStatus.CLOSED, PaymentStatus.PAID]
"""What closing a payment ends in: closed, or paid after all (the buyer paid at the last moment)."""
UNAVAILABLE: Final = "unavailable"
BatchCloseOutcome = CloseOutcome | Literal["unavailable"]
"""In a batch close, an order whose close Alipay could not settle answers `unavailable`."""


@dataclass(frozen=True)
class Payment:
    """A row of `payments`."""

    id: int
    order_id: str
    out_trade_no: str
    amount: Decimal
    subject: str
    channel: str
    status: PaymentStatus
    trade_no: str | None
    pay_deadline: datetime
    created_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None
    refunded_amount: Decimal
    next_check_at: datetime | None
    # what Alipay reported paid: the merchant's receipt, the buyer's own money, points
    receipt_amount: Decimal | None
    buyer_pay_amount: Decimal | None
    point_amount: Decimal | None


@dataclass(frozen=True)
class Refund:
    """A row of `refunds`."""

    id: int
    payment_id: int
    out_request_no: str
    amount: Decimal
    reason: str
    status: RefundStatus
    created_at: datetime
    refunded_at: datetime | None
    last_error: str | None
    request_key: str | None  # the merchant's Idempotency-Key
    origin: RefundOrigin


ALLOWED: dict[PaymentStatus, set[PaymentStatus]] = {
    PaymentStatus.CREATED: {PaymentStatus.PAID, PaymentStatus.CLOSED},
    PaymentStatus.CLOSED: {PaymentStatus.PAID},
    PaymentStatus.PAID: {PaymentStatus.REFUNDED},
    PaymentStatus.REFUNDED: set(),
}

PAID_TRADE_STATUSES = ("TRADE_SUCCESS", "TRADE_FINISHED")
LATE_PAYMENT_REASON = "paid after the order was cancelled"


def sources_of(target: PaymentStatus) -> tuple[PaymentStatus, ...]:
    """The statuses a payment may be in to move to `target` (used in guarded UPDATEs)."""
    return tuple(sorted(state for state, targets in ALLOWED.items() if target in targets))


PAID_AMOUNT_FIELDS = ("receipt_amount", "buyer_pay_amount", "point_amount")


def paid_amounts(fields: dict) -> dict[str, Decimal]:
    """The amount breakdown of a notify or a query answer, as far as it is readable.

    The order is paid for its total_amount (checked separately): a discount or points lower
    what the merchant receives or what the buyer paid in money, not what the order cost."""
    found = {}
    for name in PAID_AMOUNT_FIELDS:
        try:
            value = Decimal(str(fields[name]))
        except (KeyError, InvalidOperation):
            continue
        if value.is_finite() and value >= 0:
            found[name] = value.quantize(Decimal("0.01"))
    return found


def is_paid_status(trade_status: str | None) -> bool:
    return trade_status in PAID_TRADE_STATUSES


def refund_request_no(out_trade_no: str, n: int = 1) -> str:
    """The n-th refund of a payment: stable, so a retried refund can never refund twice.
    (The automatic refund of a late payment is always the first.)"""
    return f"{out_trade_no}R{n}"


def cancel_request_no(out_trade_no: str) -> str:
    """The refund row of a refund made by alipay.trade.cancel, which has no out_request_no:
    Alipay names such a refund by the order's out_trade_no (its refund notify's out_biz_no),
    so the notify that follows finds this row and is a duplicate, not a refund made outside."""
    return out_trade_no


def refund_confirmed(refund_query_answer: dict, amount: Decimal) -> bool:
    """Does an `alipay.trade.fastpay.refund.query` answer prove our refund was made?

    Alipay answers code 10000 whenever the query ran; a refund it never received or that
    failed comes back without `refund_status`. Only REFUND_SUCCESS for our exact amount counts.
    """
    if refund_query_answer.get("refund_status") != "REFUND_SUCCESS":
        return False
    try:
        return Decimal(str(refund_query_answer.get("refund_amount"))) == amount
    except InvalidOperation:
        return False


def confirmed_refund_amount(refund_query_answer: dict) -> Decimal | None:
    """The amount of a refund the refund query shows made (REFUND_SUCCESS), else None."""
    if refund_query_answer.get("refund_status") != "REFUND_SUCCESS":
        return None
    try:
        amount = Decimal(str(refund_query_answer.get("refund_amount")))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None
