"""Order statuses and the moves between them.

The services apply a move with a guarded `UPDATE ... WHERE status = :from`, so two racing
requests can never apply the same move twice; these functions say which moves exist at all.
"""

from enum import StrEnum

from order_service.domain.errors import InvalidTransition


class OrderStatus(StrEnum):
    UNPAID = "unpaid"
    UNSENT = "unsent"  # paid, or cash on delivery: awaiting shipment
    UNRECEIVED = "unreceived"
    UNCOMMENT = "uncomment"
    FINISHED = "finished"
    CANCELED = "canceled"


class PayMethod(StrEnum):
    ALIPAY = "alipay"
    CASH = "cash"


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.UNPAID: frozenset({OrderStatus.UNSENT, OrderStatus.CANCELED}),
    OrderStatus.UNSENT: frozenset({OrderStatus.UNRECEIVED}),
    OrderStatus.UNRECEIVED: frozenset({OrderStatus.UNCOMMENT}),
    OrderStatus.UNCOMMENT: frozenset({OrderStatus.FINISHED}),
    OrderStatus.FINISHED: frozenset(),
    OrderStatus.CANCELED: frozenset(),
}

# The status an order has already passed through once it is paid (for repeated paid events).
PAID_STATUSES = frozenset(
    {OrderStatus.UNSENT, OrderStatus.UNRECEIVED, OrderStatus.UNCOMMENT, OrderStatus.FINISHED}
)


def initial_status(pay_method: PayMethod) -> OrderStatus:
    return OrderStatus.UNPAID if pay_method == PayMethod.ALIPAY else OrderStatus.UNSENT


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[OrderStatus(current)]


def ensure_cancelable(current: str) -> None:
    if not can_move(OrderStatus(current), OrderStatus.CANCELED):
        raise InvalidTransition("order_not_cancelable", current, OrderStatus.CANCELED)


def ensure_payable(current: str, pay_method: str) -> None:
    """Only an unpaid Alipay order can be paid online."""
    if pay_method != PayMethod.ALIPAY or not can_move(OrderStatus(current), OrderStatus.UNSENT):
        raise InvalidTransition("order_not_payable", current, "paid")
