"""How values look on Alipay's wire: Beijing timestamps, two-decimal amounts, biz_content JSON."""

import json
from datetime import datetime
from decimal import Decimal

from shared import alipay_wire as wire
from shared.alipay_wire import BEIJING, TIME_FORMAT, clean_subject
from shared.money import format_money

__all__ = ["BEIJING", "TIME_FORMAT", "clean_subject"]


def alipay_time(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss` in Beijing time, whatever the server's own time zone."""
    return wire.beijing(moment)


def parse_alipay_time(text: str) -> datetime:
    """An Alipay time (Beijing) as an aware UTC datetime."""
    return wire.parse_beijing(text)


def alipay_time_or_none(text: str | None) -> datetime | None:
    """For an optional time in what Alipay sends (gmt_payment, send_pay_date): None when absent
    or unreadable, since the payment itself stands without it."""
    try:
        return parse_alipay_time(text) if text else None
    except ValueError:
        return None


def amount(value: Decimal | str) -> str:
    """Yuan with exactly two decimals, as a string ("88.80"); refuses floats."""
    if isinstance(value, float):
        raise TypeError("an amount must not be a float")
    parsed = Decimal(value)
    if not wire.amount_in_range(parsed):
        raise ValueError(f"Alipay takes 0.01 to 100000000.00 with two decimals, not {value}")
    return format_money(parsed)


def biz_content(fields: dict) -> str:
    """Serialised once, compact, non-ASCII as \\u escapes (the most interoperable choice)."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True)


def response_node(method: str) -> str:
    return method.replace(".", "_") + "_response"
