"""Order statuses and the moves between them.

Every status write goes through `storage/orders.transition`, a guarded
`UPDATE ... WHERE status = :from` that asks `ensure_move` first, so two racing requests can
never apply the same move twice and no code path can make a move this table does not have.
"""

from enum import StrEnum

from order_service.domain.errors import InvalidTransition


class OrderStatus(StrEnum):
    UNPAID = "unpaid"
    UNSENT = "unsent"  # paid, or cash on delivery: awaiting shipment
    UNRECEIVED = "unreceived"  # shipped
    UNCOMMENT = "uncomment"  # received by the buyer, not yet commented
    FINISHED = "finished"
    CANCELED = "canceled"
    REFUNDED = "refunded"  # refunded in full before it was shipped: stock returned


class PayMethod(StrEnum):
    ALIPAY = "alipay"
    CASH = "cash"


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.UNPAID: frozenset({OrderStatus.UNSENT, OrderStatus.CANCELED}),
    OrderStatus.UNSENT: frozenset({OrderStatus.UNRECEIVED, OrderStatus.REFUNDED}),
    OrderStatus.UNRECEIVED: frozenset({OrderStatus.UNCOMMENT}),
    OrderStatus.UNCOMMENT: frozenset({OrderStatus.FINISHED}),
    OrderStatus.FINISHED: frozenset(),
    OrderStatus.CANCELED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}

# The error code a refused move answers with, by target status.
REFUSAL_CODES: dict[OrderStatus, str] = {
    OrderStatus.UNSENT: "order_not_payable",
    OrderStatus.CANCELED: "order_not_cancelable",
    OrderStatus.UNRECEIVED: "order_not_shippable",
    OrderStatus.UNCOMMENT: "order_not_receivable",
    OrderStatus.FINISHED: "order_not_commentable",
    OrderStatus.REFUNDED: "order_not_refundable",
}

# The statuses an order has passed through once it is paid (for repeated paid events).
PAID_STATUSES = frozenset(
    {
        OrderStatus.UNSENT,
        OrderStatus.UNRECEIVED,
        OrderStatus.UNCOMMENT,
        OrderStatus.FINISHED,
        OrderStatus.REFUNDED,
    }
)


def initial_status(pay_method: PayMethod) -> OrderStatus:
    return OrderStatus.UNPAID if pay_method == PayMethod.ALIPAY else OrderStatus.UNSENT


def can_move(current: OrderStatus | str, target: OrderStatus | str) -> bool:
    return OrderStatus(target) in TRANSITIONS[OrderStatus(current)]


def ensure_move(current: OrderStatus | str, target: OrderStatus | str) -> None:
    """Raises the target's InvalidTransition (409 with its code) for a move the table lacks."""
    if not can_move(current, target):
        target = OrderStatus(target)
        raise InvalidTransition(REFUSAL_CODES[target], str(current), target)


def ensure_cancelable(current: str) -> None:
    ensure_move(current, OrderStatus.CANCELED)


def ensure_payable(current: str, pay_method: str) -> None:
    """Only an unpaid Alipay order can be paid online."""
    if pay_method != PayMethod.ALIPAY or not can_move(current, OrderStatus.UNSENT):
        raise InvalidTransition("order_not_payable", current, "paid")


def ensure_refundable(current: str, pay_method: str) -> None:
    """Money can be given back only for an order paid online (whatever happened since)."""
    if pay_method != PayMethod.ALIPAY or OrderStatus(current) not in PAID_STATUSES:
        raise InvalidTransition("order_not_refundable", current, "refunded")


def refund_returns_stock(current: str, refunded, total) -> bool:
    """A full refund of an order not yet shipped makes it `refunded` and returns its stock."""
    return refunded >= total and can_move(current, OrderStatus.REFUNDED)
