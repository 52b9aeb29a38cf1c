"""How values look on Alipay's wire: Beijing timestamps, two-decimal amounts, biz_content JSON."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from shared.money import format_money

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def alipay_time(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss` in Beijing time, whatever the server's own time zone."""
    if moment.tzinfo is None:
        raise ValueError("an Alipay time needs an aware datetime")
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


def parse_alipay_time(text: str) -> datetime:
    """An Alipay time (Beijing) as an aware UTC datetime."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING).astimezone(UTC)


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
    return format_money(Decimal(value))


def biz_content(fields: dict) -> str:
    """Serialised once, compact, non-ASCII as \\u escapes (the most interoperable choice)."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True)


def response_node(method: str) -> str:
    return method.replace(".", "_") + "_response"
