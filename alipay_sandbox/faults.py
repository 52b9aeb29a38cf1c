"""Misbehaviour on demand, the ways Alipay's notifies misbehave: per trade or for all trades."""

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.money import Money


class Fault(BaseModel):
    """How a trade (or every trade) misbehaves until the faults are cleared.

    Notifies:
    - repeat: each notify is delivered this many times at once (concurrent copies, same notify_id)
    - delay_seconds: wait this long before the first delivery
    - finished_first: a TRADE_FINISHED notify is delivered before the TRADE_SUCCESS one
    - fail_first: the first N deliveries are not sent and count as failed (retried on schedule)
    - bad_signature: a copy with a broken signature is delivered before the genuine one
    - amount_delta: a copy with total_amount changed by this much (validly signed) is delivered
      before the genuine one

    Payments:
    - trade_finished: the trade is TRADE_FINISHED once paid (a product without refunds): its
      notify, its query, and refunds and cancels refused with ACQ.TRADE_HAS_FINISHED
    - discount_amount: the merchant's coupon: receipt_amount and buyer_pay_amount below
      total_amount
    - point_amount: paid partly with points: buyer_pay_amount lower, point_amount shown

    Answers to server calls (query, close, cancel, refund, refund query) about the trade:
    - answer: `system_error` answers a signed 40004 ACQ.SYSTEM_ERROR and does nothing;
      `timeout` does what was asked, then holds the answer for answer_delay_seconds (longer
      than the merchant waits: the merchant cannot tell what happened)
    - answer_methods: the methods concerned (all server calls when empty)
    - refund_error: `alipay.trade.refund` is refused with this sub_code (for instance
      ACQ.SELLER_BALANCE_NOT_ENOUGH or ACQ.SYSTEM_ERROR) and moves no money
    """

    model_config = ConfigDict(extra="forbid")

    out_trade_no: str | None = Field(None, min_length=1, max_length=64)
    repeat: int = Field(1, ge=1, le=20)
    delay_seconds: float = Field(0, ge=0, le=3600)
    finished_first: bool = False
    fail_first: int = Field(0, ge=0, le=8)
    bad_signature: bool = False
    amount_delta: Money | None = None
    refund_error: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    trade_finished: bool = False
    discount_amount: Money | None = None
    point_amount: Money | None = None
    answer: Literal["system_error", "timeout"] | None = None
    answer_methods: list[str] = Field(default_factory=list, max_length=10)
    answer_delay_seconds: float = Field(10, ge=0, le=120)

    def answer_fault(self, method: str) -> str | None:
        if self.answer and (not self.answer_methods or method in self.answer_methods):
            return self.answer
        return None

    @property
    def forged_amount_delta(self) -> Decimal | None:
        return self.amount_delta if self.amount_delta else None


NO_FAULT = Fault()


class FaultBook:
    def __init__(self):
        self._faults: dict[str | None, Fault] = {}

    def set(self, fault: Fault) -> None:
        self._faults[fault.out_trade_no] = fault

    def clear(self, out_trade_no: str | None = None) -> None:
        if out_trade_no is None:
            self._faults.clear()
        else:
            self._faults.pop(out_trade_no, None)

    def for_trade(self, out_trade_no: str) -> Fault:
        """A trade's own faults replace the ones set for all trades."""
        return self._faults.get(out_trade_no) or self._faults.get(None) or NO_FAULT

    def all(self) -> list[Fault]:
        return list(self._faults.values())
