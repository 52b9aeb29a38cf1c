"""`biz_content`: read leniently (any JSON layout, amounts as strings or numbers), checked strictly.

Pure functions; a bad field raises `BizError` naming it, which the gateway turns into
40004 ACQ.INVALID_PARAMETER.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal, overload

from alipay_sandbox import clock
from shared.alipay_wire import MIN_AMOUNT, SUBJECT_LIMIT, amount_in_range

OUT_TRADE_NO = re.compile(r"[A-Za-z0-9_]{1,64}")
PRODUCT_CODES = {
    "alipay.trade.page.pay": {"FAST_INSTANT_TRADE_PAY"},
    "alipay.trade.wap.pay": {"QUICK_WAP_WAY", "QUICK_WAP_PAY"},
}
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
TIMEOUT_EXPRESS = re.compile(r"(\d+)([mhd])")
DEFAULT_TIMEOUT = timedelta(days=15)


class BizError(ValueError):
    """A business parameter that Alipay would refuse."""


@dataclass(frozen=True)
class PayOrder:
    """What a page or wap pay request asks for."""

    out_trade_no: str
    total_amount: Decimal
    subject: str
    product_code: str
    body: str | None
    passback_params: str | None
    quit_url: str | None
    deadline: datetime


def parse(biz_content: str | None) -> dict:
    if not biz_content:
        raise BizError("biz_content is missing")
    try:
        # json.loads reads \u escapes and ignores layout; parse_float keeps amounts exact
        data = json.loads(biz_content, parse_float=Decimal)
    except ValueError as exc:
        raise BizError(f"biz_content is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BizError("biz_content must be a JSON object")
    return data


def amount(data: dict, field: str) -> Decimal:
    value = data.get(field)
    if value is None or value == "":
        raise BizError(f"{field} is missing")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise BizError(f"{field} must be a number")
    if isinstance(value, str) and not PLAIN_NUMBER.fullmatch(value):
        raise BizError(f"{field} is not a plain decimal number: {value!r}")
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise BizError(f"{field} is not a number: {value!r}") from None
    if not parsed.is_finite() or parsed != parsed.quantize(MIN_AMOUNT):
        raise BizError(f"{field} must have at most 2 decimals: {value!r}")
    if not amount_in_range(parsed):
        raise BizError(f"{field} must be between 0.01 and 100000000: {value!r}")
    return parsed.quantize(MIN_AMOUNT)


@overload
def out_trade_no(data: dict, required: Literal[True] = True) -> str: ...
@overload
def out_trade_no(data: dict, required: bool) -> str | None: ...
def out_trade_no(data: dict, required: bool = True) -> str | None:
    value = data.get("out_trade_no")
    if value in (None, ""):
        if required:
            raise BizError("out_trade_no is missing")
        return None
    if not isinstance(value, str) or not OUT_TRADE_NO.fullmatch(value):
        raise BizError("out_trade_no must be 1-64 letters, digits or underscores")
    return value


def optional_text(data: dict, field: str, limit: int) -> str | None:
    value = data.get(field)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BizError(f"{field} must be text of at most {limit} characters")
    return value


def deadline(data: dict, start: datetime) -> datetime:
    """time_expire (Beijing time) wins over timeout_express; Alipay's default is 15 days."""
    time_expire = data.get("time_expire")
    if time_expire not in (None, ""):
        try:
            return clock.parse_beijing(str(time_expire), (clock.ALIPAY_FORMAT, "%Y-%m-%d %H:%M"))
        except ValueError:
            raise BizError("time_expire must be yyyy-MM-dd HH:mm:ss (Beijing time)") from None
    timeout = data.get("timeout_express")
    if timeout in (None, ""):
        return start + DEFAULT_TIMEOUT
    if timeout == "1c":
        midnight = start.astimezone(clock.BEIJING).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return midnight + timedelta(days=1)
    match = TIMEOUT_EXPRESS.fullmatch(str(timeout))
    if not match:
        raise BizError("timeout_express must look like 90m, 2h, 1d or 1c")
    count, unit = int(match[1]), match[2]
    span = {"m": timedelta(minutes=count), "h": timedelta(hours=count), "d": timedelta(days=count)}
    if not timedelta(minutes=1) <= span[unit] <= timedelta(days=15):
        raise BizError("timeout_express must be between 1m and 15d")
    return start + span[unit]


def pay_order(method: str, data: dict, start: datetime) -> PayOrder:
    subject = optional_text(data, "subject", SUBJECT_LIMIT)
    if subject is None:
        raise BizError("subject is missing")
    product_code = data.get("product_code")
    if product_code not in PRODUCT_CODES[method]:
        allowed = " or ".join(sorted(PRODUCT_CODES[method]))
        raise BizError(f"product_code must be {allowed} for {method}")
    return PayOrder(
        out_trade_no=out_trade_no(data),
        total_amount=amount(data, "total_amount"),
        subject=subject,
        product_code=product_code,
        body=optional_text(data, "body", 128),
        passback_params=optional_text(data, "passback_params", 512),
        quit_url=optional_text(data, "quit_url", 400),
        deadline=deadline(data, start),
    )
