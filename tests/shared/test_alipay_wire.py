"""Alipay's wire facts, said once (shared/alipay_wire.py) for our client and the emulator."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alipay_sandbox import biz, clock
from payment_service.alipay import params
from shared import alipay_wire as wire


def test_times_are_beijing_whatever_the_servers_zone():
    moment = datetime(2024, 1, 1, 19, 4, 5, 320_999, tzinfo=UTC)
    assert wire.beijing(moment) == "2024-01-02 03:04:05"
    assert wire.beijing_ms(moment) == "2024-01-02 03:04:05.320"
    assert wire.parse_beijing("2024-01-02 03:04:05") == moment.replace(microsecond=0)
    with pytest.raises(ValueError):
        wire.beijing(datetime(2024, 1, 1))  # naive: whose clock?
    # the client and the emulator say the same
    assert params.alipay_time(moment) == clock.beijing(moment) == "2024-01-02 03:04:05"


@pytest.mark.parametrize(
    "value, ok",
    [("0.01", True), ("100000000", True), ("100000000.01", False), ("0", False), ("1.001", False)],
)
def test_the_amount_rule(value, ok):
    assert wire.amount_in_range(Decimal(value)) is ok
    if ok:
        assert params.amount(Decimal(value)) == f"{Decimal(value):.2f}"
        assert biz.amount({"a": value}, "a") == Decimal(value)
    else:
        with pytest.raises(ValueError):
            params.amount(Decimal(value))
        with pytest.raises(biz.BizError):
            biz.amount({"a": value}, "a")


def test_subjects_lose_the_characters_alipay_forbids_and_fit_its_limit():
    assert wire.clean_subject("Order 1 / tea=2 & more") == "Order 1 tea 2 more"
    long = "订" * 300
    assert wire.clean_subject(long) == "订" * wire.SUBJECT_LIMIT
    assert wire.clean_subject("/&=") == "order"
    assert wire.clean_subject("plain 订单") == "plain 订单"
