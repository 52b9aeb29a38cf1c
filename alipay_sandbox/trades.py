"""Trades as Alipay keeps them, and the rules that move them (pure; no HTTP, no I/O).

A page/wap pay request only issues a link; the trade comes into existence when the buyer
engages (the cashier opens) in WAIT_BUYER_PAY, and then becomes TRADE_SUCCESS when paid,
TRADE_CLOSED when closed, expired, or fully refunded.
"""

import heapq
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from alipay_sandbox import clock
from alipay_sandbox.biz import PayOrder

WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
TRADE_SUCCESS = "TRADE_SUCCESS"
TRADE_FINISHED = "TRADE_FINISHED"
TRADE_CLOSED = "TRADE_CLOSED"
ZERO = Decimal("0.00")


class TradeError(Exception):
    """A business failure Alipay answers with 40004 and an ACQ.* sub code."""

    def __init__(self, sub_code: str, sub_msg: str):
        super().__init__(f"{sub_code}: {sub_msg}")
        self.sub_code = sub_code
        self.sub_msg = sub_msg


@dataclass
class Link:
    """A signed page/wap pay request the gateway has seen (what the buyer's browser carries)."""

    link_id: str
    method: str
    order: PayOrder
    app_id: str
    charset: str
    sign_type: str
    notify_url: str | None
    return_url: str | None
    quit_url: str | None
    issued_at: datetime


@dataclass
class Refund:
    out_request_no: str
    refund_amount: Decimal
    refund_reason: str | None
    gmt_refund: datetime


@dataclass
class Trade:
    trade_no: str
    link: Link
    status: str
    buyer_id: str
    buyer_logon_id: str
    gmt_create: datetime
    deadline: datetime
    gmt_payment: datetime | None = None
    gmt_close: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    # a discounted payment: the merchant's coupon lowers what it receives and what the buyer
    # pays; points (集分宝) lower what the buyer pays in money
    discount_amount: Decimal = ZERO
    point_amount: Decimal = ZERO

    @property
    def out_trade_no(self) -> str:
        return self.link.order.out_trade_no

    @property
    def total_amount(self) -> Decimal:
        return self.link.order.total_amount

    @property
    def is_paid(self) -> bool:
        return self.gmt_payment is not None

    @property
    def receipt_amount(self) -> Decimal:
        """实收金额: what the merchant receives."""
        return self.total_amount - self.discount_amount if self.is_paid else ZERO

    @property
    def buyer_pay_amount(self) -> Decimal:
        """买家付款金额: what the buyer paid in money (points and coupons left out)."""
        return self.receipt_amount - self.point_amount if self.is_paid else ZERO

    @property
    def paid_point_amount(self) -> Decimal:
        return self.point_amount if self.is_paid else ZERO

    @property
    def refund_fee(self) -> Decimal:
        return sum((refund.refund_amount for refund in self.refunds), ZERO)

    def refund_by_request(self, out_request_no: str) -> Refund | None:
        return next((r for r in self.refunds if r.out_request_no == out_request_no), None)


def require_open(trade: Trade) -> None:
    """TradeError unless the trade still waits for the buyer, with Alipay's sub code."""
    if trade.status != WAIT_BUYER_PAY:
        if trade.is_paid:
            raise TradeError("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        raise TradeError("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")


def new_trade_no(moment: datetime) -> str:
    """28 digits like Alipay's: the Beijing date, a channel tag, then a random tail."""
    day = moment.astimezone(clock.BEIJING).strftime("%Y%m%d")
    return day + "22001" + "".join(secrets.choice("0123456789") for _ in range(15))


def new_buyer() -> tuple[str, str]:
    digits = "".join(secrets.choice("0123456789") for _ in range(12))
    return "2088" + digits, f"buy***@sandbox{digits[-3:]}.com"


class TradeBook:
    """Every issued link and every trade, by out_trade_no. The caller holds the lock."""

    def __init__(self):
        self.links: dict[str, Link] = {}  # link_id -> link
        self.latest_link: dict[str, Link] = {}  # out_trade_no -> newest link
        self.trades: dict[str, Trade] = {}  # out_trade_no -> trade
        # (deadline, out_trade_no) of every trade engaged, soonest first: expiring looks only at
        # the trades that are due, not at all of them on every call
        self.deadlines: list[tuple[datetime, str]] = []

    def issue(self, link: Link) -> None:
        trade = self.trades.get(link.order.out_trade_no)
        if trade and trade.total_amount != link.order.total_amount:
            raise TradeError(
                "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改: the trade exists with another amount"
            )
        self.links[link.link_id] = link
        self.latest_link[link.order.out_trade_no] = link

    def find(self, out_trade_no: str | None = None, trade_no: str | None = None) -> Trade | None:
        """trade_no wins over out_trade_no, as at Alipay."""
        if trade_no:
            return next((t for t in self.trades.values() if t.trade_no == trade_no), None)
        return self.trades.get(out_trade_no) if out_trade_no else None

    def get(self, out_trade_no: str | None = None, trade_no: str | None = None) -> Trade:
        trade = self.find(out_trade_no, trade_no)
        if trade is None:
            raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    def engage(self, link: Link, at: datetime) -> Trade:
        """The buyer opens the cashier: the trade exists from now on (WAIT_BUYER_PAY)."""
        trade = self.trades.get(link.order.out_trade_no)
        if trade is not None:
            return trade
        if at >= link.order.deadline:
            raise TradeError("ACQ.TRADE_HAS_CLOSE", "交易已经关闭: the pay deadline has passed")
        buyer_id, buyer_logon_id = new_buyer()
        trade = Trade(
            trade_no=new_trade_no(at),
            link=link,
            status=WAIT_BUYER_PAY,
            buyer_id=buyer_id,
            buyer_logon_id=buyer_logon_id,
            gmt_create=at,
            deadline=link.order.deadline,
        )
        self.trades[trade.out_trade_no] = trade
        heapq.heappush(self.deadlines, (trade.deadline, trade.out_trade_no))
        return trade

    def pay(
        self,
        trade: Trade,
        at: datetime,
        finished: bool = False,
        discount: Decimal = ZERO,
        points: Decimal = ZERO,
    ) -> None:
        """Paid: TRADE_SUCCESS, or TRADE_FINISHED for a product without refunds. A discount and
        points are capped so that the buyer pays at least 0.01."""
        if trade.status == WAIT_BUYER_PAY and at >= trade.deadline:
            self.close(trade, at)
        require_open(trade)
        cent = Decimal("0.01")
        trade.discount_amount = max(ZERO, min(discount, trade.total_amount - cent))
        rest = trade.total_amount - trade.discount_amount - cent
        trade.point_amount = max(ZERO, min(points, rest))
        trade.status = TRADE_FINISHED if finished else TRADE_SUCCESS
        trade.gmt_payment = at

    def close(self, trade: Trade, at: datetime) -> None:
        if trade.status != WAIT_BUYER_PAY:
            raise TradeError("ACQ.TRADE_STATUS_ERROR", f"交易状态不合法: {trade.status}")
        trade.status = TRADE_CLOSED
        trade.gmt_close = at

    def expired(self, at: datetime) -> list[Trade]:
        """Close every unpaid trade whose deadline has passed; returns the ones closed now."""
        due = []
        while self.deadlines and self.deadlines[0][0] <= at:
            _, out_trade_no = heapq.heappop(self.deadlines)
            trade = self.trades[out_trade_no]
            if trade.status == WAIT_BUYER_PAY:
                self.close(trade, at)
                due.append(trade)
        return due

    def refund(
        self, trade: Trade, out_request_no: str, amount: Decimal, reason: str | None, at: datetime
    ) -> tuple[Refund, bool]:
        """(the refund, whether money moved now). A repeated out_request_no moves nothing."""
        earlier = trade.refund_by_request(out_request_no)
        if earlier is not None:
            if earlier.refund_amount != amount:
                raise TradeError(
                    "ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致: out_request_no reused"
                )
            return earlier, False
        if trade.status == TRADE_FINISHED:
            raise TradeError("ACQ.TRADE_HAS_FINISHED", "交易已完结")
        if trade.status != TRADE_SUCCESS:
            raise TradeError("ACQ.TRADE_STATUS_ERROR", f"交易状态不合法: {trade.status}")
        if trade.refund_fee + amount > trade.total_amount:
            raise TradeError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        refund = Refund(out_request_no, amount, reason, at)
        trade.refunds.append(refund)
        if trade.refund_fee == trade.total_amount:
            trade.status = TRADE_CLOSED
            trade.gmt_close = at
        return refund, True
