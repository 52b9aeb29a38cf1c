"""The pure parts: totals, order ids, the order state machine."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from order_service.domain.errors import InvalidTransition
from order_service.domain.order_ids import new_order_id
from order_service.domain.pricing import Line, merge_counts, order_totals
from order_service.domain.states import (
    OrderStatus,
    PayMethod,
    can_move,
    ensure_cancelable,
    ensure_move,
    ensure_payable,
    ensure_refundable,
    initial_status,
    refund_returns_stock,
)


def test_totals_add_lines_and_freight_exactly():
    lines = [Line(1, 3, Decimal("0.10")), Line(2, 1, Decimal("19.99")), Line(3, 7, Decimal("0.01"))]
    totals = order_totals(lines, Decimal("10.00"))
    assert totals.total_count == 11
    assert totals.goods_amount == Decimal("20.36")  # 0.30 + 19.99 + 0.07, no float drift
    assert totals.freight == Decimal("10.00")
    assert totals.total_amount == Decimal("30.36")
    assert str(totals.total_amount) == "30.36"


def test_totals_refuse_empty_orders_and_bad_counts():
    with pytest.raises(ValueError):
        order_totals([], Decimal("10.00"))
    with pytest.raises(ValueError):
        order_totals([Line(1, 0, Decimal("1.00"))], Decimal("10.00"))


def test_totals_refuse_float_freight():
    with pytest.raises(TypeError):
        order_totals([Line(1, 1, Decimal("1.00"))], 10.0)


def test_zero_freight_and_big_counts():
    totals = order_totals([Line(1, 9999, Decimal("99999999.99"))], Decimal("0"))
    assert totals.total_amount == Decimal("999899999900.01")


def test_the_same_sku_twice_adds_up_and_sorts_by_id():
    assert merge_counts([(5, 1), (2, 3), (5, 4)]) == {2: 3, 5: 5}
    assert list(merge_counts([(9, 1), (1, 1), (4, 1)])) == [1, 4, 9]


def test_order_ids_are_unique_for_one_user_in_one_second():
    moment = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    ids = {new_order_id(42, moment) for _ in range(20000)}
    assert len(ids) == 20000


@pytest.mark.parametrize("user_id", [1, 42, 2**31 - 1])
def test_order_ids_are_valid_out_trade_numbers(user_id):
    order_id = new_order_id(user_id)
    assert re.fullmatch(r"[A-Za-z0-9]{1,64}", order_id)
    assert order_id.startswith(datetime.now(UTC).strftime("%Y%m%d"))


def test_alipay_orders_start_unpaid_and_cash_orders_unsent():
    assert initial_status(PayMethod.ALIPAY) == OrderStatus.UNPAID
    assert initial_status(PayMethod.CASH) == OrderStatus.UNSENT


def test_only_unpaid_orders_can_be_cancelled():
    ensure_cancelable("unpaid")
    for status in ("unsent", "unreceived", "uncomment", "finished", "canceled"):
        with pytest.raises(InvalidTransition) as caught:
            ensure_cancelable(status)
        assert caught.value.code == "order_not_cancelable"


def test_only_unpaid_alipay_orders_can_be_paid():
    ensure_payable("unpaid", "alipay")
    for status, method in [("unpaid", "cash"), ("unsent", "alipay"), ("canceled", "alipay")]:
        with pytest.raises(InvalidTransition) as caught:
            ensure_payable(status, method)
        assert caught.value.code == "order_not_payable"


def test_the_state_machine_moves_forward_only():
    assert can_move(OrderStatus.UNPAID, OrderStatus.UNSENT)
    assert can_move(OrderStatus.UNSENT, OrderStatus.UNRECEIVED)
    assert can_move(OrderStatus.UNCOMMENT, OrderStatus.FINISHED)
    assert not can_move(OrderStatus.UNSENT, OrderStatus.UNPAID)
    assert not can_move(OrderStatus.CANCELED, OrderStatus.UNSENT)
    assert not can_move(OrderStatus.UNSENT, OrderStatus.CANCELED)
    assert not can_move(OrderStatus.FINISHED, OrderStatus.CANCELED)


@pytest.mark.parametrize(
    ("current", "target", "code"),
    [
        ("unpaid", "unreceived", "order_not_shippable"),
        ("unreceived", "unreceived", "order_not_shippable"),
        ("unsent", "uncomment", "order_not_receivable"),
        ("unreceived", "finished", "order_not_commentable"),
        ("unreceived", "refunded", "order_not_refundable"),
        ("refunded", "unreceived", "order_not_shippable"),
    ],
)
def test_each_refused_move_names_its_code(current, target, code):
    with pytest.raises(InvalidTransition) as caught:
        ensure_move(current, target)
    assert caught.value.code == code and caught.value.extra["order_status"] == current


def test_shipping_receipt_comments_and_full_refund_are_moves():
    for current, target in [
        ("unsent", "unreceived"),
        ("unreceived", "uncomment"),
        ("uncomment", "finished"),
        ("unsent", "refunded"),
    ]:
        ensure_move(current, target)


def test_only_a_full_refund_of_an_unshipped_order_returns_stock():
    total = Decimal("30.00")
    assert refund_returns_stock("unsent", Decimal("30.00"), total)
    assert not refund_returns_stock("unsent", Decimal("29.99"), total)
    assert not refund_returns_stock("unreceived", Decimal("30.00"), total)
    assert not refund_returns_stock("refunded", Decimal("30.00"), total)


def test_only_orders_paid_online_are_refundable():
    ensure_refundable("unsent", "alipay")
    ensure_refundable("finished", "alipay")
    for status, method in [("unpaid", "alipay"), ("canceled", "alipay"), ("unsent", "cash")]:
        with pytest.raises(InvalidTransition) as caught:
            ensure_refundable(status, method)
        assert caught.value.code == "order_not_refundable"
