"""The emulator's flows: issue a link, open the cashier, pay, answer server calls, expire trades.

One in-memory state per process, changed only under `lock`; notifies are handed to the
notifier after the change.
"""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode, urlsplit, urlunsplit

import structlog

from alipay_sandbox import biz, clock, messages
from alipay_sandbox.faults import FaultBook
from alipay_sandbox.notifier import Notifier, Notify, new_notify_id
from alipay_sandbox.protocol import GatewayError
from alipay_sandbox.trades import (
    TRADE_CLOSED,
    TRADE_FINISHED,
    TRADE_SUCCESS,
    WAIT_BUYER_PAY,
    ZERO,
    Link,
    Refund,
    Trade,
    TradeBook,
    TradeError,
    require_open,
)
from shared.alipay_bill import REFUND, TRADE, BillRow, write_bill
from shared.alipay_sign import sign_params
from shared.time import now_utc

log = structlog.get_logger(__name__)
WAP_PRODUCTS = ("QUICK_WAP_WAY", "QUICK_WAP_PAY")


@dataclass
class Paid:
    trade: Trade
    return_url: str | None


class Sandbox:
    def __init__(
        self, private_key, seller_id: str, notifier: Notifier, faults: FaultBook, public_url: str
    ):
        self.private_key = private_key
        self.public_url = public_url.rstrip("/")
        self.seller_id = seller_id
        self.notifier = notifier
        self.faults = faults
        self.book = TradeBook()
        self.notifies: dict[str, list[Notify]] = {}  # out_trade_no -> notifies sent
        self.lock = asyncio.Lock()
        self.bills: dict[str, bytes] = {}  # download token -> zip

    # --- the buyer's side -------------------------------------------------------------------

    async def issue_link(self, method: str, params: dict[str, str], charset: str) -> Link:
        at = now_utc()
        try:
            order = biz.pay_order(method, biz.parse(params.get("biz_content")), at)
        except biz.BizError as exc:
            raise GatewayError("40004", "ACQ.INVALID_PARAMETER", str(exc)) from None
        link = Link(
            link_id=secrets.token_urlsafe(12),
            method=method,
            order=order,
            app_id=params["app_id"],
            charset=charset,
            sign_type=params["sign_type"],
            notify_url=params.get("notify_url") or None,
            return_url=params.get("return_url") or None,
            # wap's quit_url belongs in biz_content; some clients send it as a common parameter
            quit_url=order.quit_url or params.get("quit_url") or None,
            issued_at=at,
        )
        async with self.lock:
            self._expire(at)
            try:
                self.book.issue(link)
            except TradeError as exc:
                raise GatewayError("40004", exc.sub_code, exc.sub_msg) from None
        return link

    async def open_cashier(self, link_id: str) -> tuple[Link, Trade | None]:
        """The cashier page: no trade yet unless the buyer has logged in or scanned before.
        TradeError when the link cannot be paid (past its deadline, or its trade not open)."""
        async with self.lock:
            link = self._link(link_id)
            at = now_utc()
            self._expire(at)
            trade = self.book.trades.get(link.order.out_trade_no)
            if trade is None:
                if at >= link.order.deadline:
                    raise TradeError(
                        "ACQ.TRADE_HAS_CLOSE", "交易已经关闭: the pay deadline has passed"
                    )
            else:
                require_open(trade)
            return link, trade

    async def log_in(self, link_id: str) -> tuple[Link, Trade]:
        """The buyer logs in (or scans the QR code): the trade exists from now on."""
        async with self.lock:
            link = self._link(link_id)
            at = now_utc()
            self._expire(at)
            trade = self.book.engage(link, at)
            require_open(trade)
            return link, trade

    async def pay_link(self, link_id: str) -> Paid:
        async with self.lock:
            return self._pay(self._link(link_id))

    async def pay_out_trade_no(self, out_trade_no: str) -> Paid:
        """The test route: engage (if needed) and pay through the newest link seen for the order."""
        async with self.lock:
            link = self.book.latest_link.get(out_trade_no)
            if link is None:
                raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
            return self._pay(link)

    async def link(self, link_id: str) -> Link:
        async with self.lock:
            return self._link(link_id)

    def _link(self, link_id: str) -> Link:
        link = self.book.links.get(link_id)
        if link is None:
            raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在: unknown cashier link")
        return link

    def _pay(self, link: Link) -> Paid:
        at = now_utc()
        self._expire(at)
        trade = self.book.engage(link, at)
        fault = self.faults.for_trade(trade.out_trade_no)
        self.book.pay(
            trade,
            at,
            finished=fault.trade_finished,
            discount=fault.discount_amount or ZERO,
            points=fault.point_amount or ZERO,
        )
        log.info("trade.paid", out_trade_no=trade.out_trade_no, trade_no=trade.trade_no)
        if fault.trade_finished:
            statuses = [TRADE_FINISHED]
        elif fault.finished_first:
            statuses = [TRADE_FINISHED, TRADE_SUCCESS]
        else:
            statuses = [TRADE_SUCCESS]
        self._send(trade, [self._notify(trade, status, at) for status in statuses])
        return Paid(trade, self._return_url(trade, at))

    def _return_url(self, trade: Trade, at) -> str | None:
        if not trade.link.return_url:
            return None
        params = messages.return_params(trade, self.seller_id, at)
        sign_type = trade.link.sign_type
        params["sign"] = sign_params(params, self.private_key, sign_type, trade.link.charset)
        params["sign_type"] = sign_type
        return add_query(trade.link.return_url, params, trade.link.charset)

    # --- notifies -------------------------------------------------------------------------

    def _notify(self, trade: Trade, status: str, at, refund: Refund | None = None) -> Notify:
        fields = messages.notify_fields(trade, status, self.seller_id, new_notify_id(), at, refund)
        return Notify(
            notify_id=fields["notify_id"],
            url=trade.link.notify_url or "",
            fields=fields,
            sign_type=trade.link.sign_type,
            charset=trade.link.charset,
        )

    def _send(self, trade: Trade, notifies: list[Notify]) -> None:
        self.notifies.setdefault(trade.out_trade_no, []).extend(notifies)
        if trade.link.notify_url:
            self.notifier.start(notifies, self.faults.for_trade(trade.out_trade_no))
        else:
            for notify in notifies:
                notify.finished = True

    # --- expiry ---------------------------------------------------------------------------

    async def expire_due(self) -> None:
        async with self.lock:
            self._expire(now_utc())

    def _expire(self, at) -> None:
        for trade in self.book.expired(at):
            log.info("trade.expired", out_trade_no=trade.out_trade_no)
            self._closed(trade, at)

    def _closed(self, trade: Trade, at) -> None:
        # Alipay notifies TRADE_CLOSED for wap trades only; page pay notifies only payments
        if trade.link.order.product_code in WAP_PRODUCTS:
            self._send(trade, [self._notify(trade, TRADE_CLOSED, at)])

    # --- server APIs ----------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, str]) -> dict:
        """The content of a server API answer; TradeError or GatewayError for a refusal."""
        try:
            data = biz.parse(params.get("biz_content"))
            if method == "alipay.data.dataservice.bill.downloadurl.query":
                return await self._bill_url(data)
            out_trade_no = biz.out_trade_no(data, required=False)
            trade_no = data.get("trade_no") or None
            if not out_trade_no and not trade_no:
                raise biz.BizError("out_trade_no or trade_no is required")
            if trade_no is not None and not isinstance(trade_no, str):
                raise biz.BizError("trade_no must be text")
            handler = {
                "alipay.trade.query": self._query,
                "alipay.trade.close": self._close,
                "alipay.trade.cancel": self._cancel,
                "alipay.trade.refund": self._refund,
                "alipay.trade.fastpay.refund.query": self._refund_query,
            }[method]
            async with self.lock:
                at = now_utc()
                self._expire(at)
                found = self.book.find(out_trade_no, trade_no)
                fault = self.faults.for_trade(found.out_trade_no if found else out_trade_no or "")
                answer = fault.answer_fault(method)
                if answer == "system_error":
                    raise GatewayError(
                        "40004", "ACQ.SYSTEM_ERROR", "系统错误: 请使用相同的参数再次调用"
                    )
                trade = self.book.get(out_trade_no, trade_no)
                content = handler(trade, data, at)
        except biz.BizError as exc:
            raise GatewayError("40004", "ACQ.INVALID_PARAMETER", str(exc)) from None
        if answer == "timeout":
            # done, but the merchant gives up before it hears so
            await asyncio.sleep(fault.answer_delay_seconds)
        return content

    def _query(self, trade: Trade, data: dict, at) -> dict:
        options = data.get("query_options") or []
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise biz.BizError("query_options must be a list of names")
        return messages.query_content(trade, options)

    def _close(self, trade: Trade, data: dict, at) -> dict:
        self.book.close(trade, at)
        log.info("trade.closed", out_trade_no=trade.out_trade_no)
        self._closed(trade, at)
        return messages.close_content(trade)

    async def console_refund(self, out_trade_no: str, amount) -> Refund:
        """A refund the merchant makes in Alipay's console, outside the shop: its own refund
        number, and the refund notify Alipay sends for any refund."""
        async with self.lock:
            at = now_utc()
            self._expire(at)
            trade = self.book.trades.get(out_trade_no)
            if trade is None:
                raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
            out_request_no = f"HZ{secrets.token_hex(8).upper()}"
            refund, _ = self.book.refund(trade, out_request_no, amount, "console refund", at)
            log.info("trade.refunded", out_trade_no=out_trade_no, amount=str(amount), by="console")
            self._send(trade, [self._notify(trade, trade.status, at, refund)])
            return refund

    def _cancel(self, trade: Trade, data: dict, at) -> dict:
        """Close an unpaid trade, refund a paid one in full (action close / refund)."""
        if trade.status == WAIT_BUYER_PAY:
            self.book.close(trade, at)
            log.info("trade.cancelled", out_trade_no=trade.out_trade_no, action="close")
            self._closed(trade, at)
        elif trade.status == TRADE_SUCCESS:
            rest = trade.total_amount - trade.refund_fee
            refund, _ = self.book.refund(trade, trade.out_trade_no, rest, "撤销", at)
            log.info("trade.cancelled", out_trade_no=trade.out_trade_no, action="refund")
            self._send(trade, [self._notify(trade, trade.status, at, refund)])
        elif trade.status == TRADE_FINISHED:
            raise TradeError("ACQ.TRADE_HAS_FINISHED", "交易已完结")
        return messages.cancel_content(trade)

    def _refund(self, trade: Trade, data: dict, at) -> dict:
        amount = biz.amount(data, "refund_amount")
        refusal = self.faults.for_trade(trade.out_trade_no).refund_error
        if refusal:  # the merchant's balance is short, or Alipay is in trouble
            raise TradeError(refusal, "refund refused (fault injected)")
        out_request_no = data.get("out_request_no") or trade.out_trade_no
        if not isinstance(out_request_no, str) or len(out_request_no) > 64:
            raise biz.BizError("out_request_no must be text of at most 64 characters")
        reason = biz.optional_text(data, "refund_reason", 256)
        refund, moved = self.book.refund(trade, out_request_no, amount, reason, at)
        if moved:
            log.info("trade.refunded", out_trade_no=trade.out_trade_no, amount=str(amount))
            self._send(trade, [self._notify(trade, trade.status, at, refund)])
        return messages.refund_content(trade, refund, moved)

    def _refund_query(self, trade: Trade, data: dict, at) -> dict:
        out_request_no = data.get("out_request_no")
        if not out_request_no or not isinstance(out_request_no, str):
            raise biz.BizError("out_request_no is missing")
        return messages.refund_query_content(trade, trade.refund_by_request(out_request_no))

    # --- the daily bill -------------------------------------------------------------------

    async def _bill_url(self, data: dict) -> dict:
        """A day's trade bill (any day, today's included, unlike Alipay), for its own trades."""
        if data.get("bill_type") != "trade":
            raise GatewayError("40004", "isp.bill_type_not_support", "账单类型不支持: use trade")
        try:
            day = date.fromisoformat(str(data.get("bill_date")))
        except ValueError:
            raise GatewayError("40004", "isv.invalid-bill-date", "账单日期格式不正确") from None
        async with self.lock:
            rows = bill_rows(self.book, day)
            token = secrets.token_urlsafe(16)
            self.bills[token] = write_bill(self.seller_id + "0156", day, rows, now_utc())
        return {
            "code": "10000",
            "msg": "Success",
            "bill_download_url": f"{self.public_url}/sandbox/bills/{token}.zip",
        }

    # --- the test view --------------------------------------------------------------------

    async def view(self, out_trade_no: str) -> dict | None:
        async with self.lock:
            self._expire(now_utc())
            trade = self.book.trades.get(out_trade_no)
            link = trade.link if trade else self.book.latest_link.get(out_trade_no)
            if link is None:
                return None
            view = trade_view(link, trade, self.notifies.get(out_trade_no, []))
            view["cashier_url"] = f"{self.public_url}/cashier/{link.link_id}"
            return view


def trade_view(link: Link, trade: Trade | None, notifies: list[Notify]) -> dict:
    order = link.order
    view = {
        "out_trade_no": order.out_trade_no,
        "status": trade.status if trade else "LINK_ISSUED",
        "trade_no": trade.trade_no if trade else None,
        "method": link.method,
        "product_code": order.product_code,
        "subject": order.subject,
        "total_amount": messages.money(order.total_amount),
        "refund_fee": messages.money(trade.refund_fee) if trade else "0.00",
        "deadline": (trade.deadline if trade else order.deadline).isoformat(),
        "notify_url": link.notify_url,
        "return_url": link.return_url,
        "gmt_create": trade.gmt_create.isoformat() if trade else None,
        "gmt_payment": trade.gmt_payment.isoformat() if trade and trade.gmt_payment else None,
        "gmt_close": trade.gmt_close.isoformat() if trade and trade.gmt_close else None,
        "buyer_id": trade.buyer_id if trade else None,
        "refunds": [
            {
                "out_request_no": r.out_request_no,
                "refund_amount": messages.money(r.refund_amount),
                "refund_reason": r.refund_reason,
                "gmt_refund": r.gmt_refund.isoformat(),
            }
            for r in (trade.refunds if trade else [])
        ],
        "notifies": [notify.view() for notify in notifies],
    }
    return view


FEE_RATE = Decimal("0.006")  # Alipay's usual 0.6 % on online payments


def _fee(amount: Decimal) -> Decimal:
    return (amount * FEE_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def bill_rows(book, day: date) -> list[BillRow]:
    """Payments and refunds of a Beijing day, as the bill's 交易 and 退款 lines, fees included."""

    def on_day(moment) -> bool:
        return moment is not None and moment.astimezone(clock.BEIJING).date() == day

    def stamp(moment) -> str:
        return clock.beijing(moment)

    rows = []
    for trade in book.trades.values():
        if on_day(trade.gmt_payment):
            rows.append(
                BillRow(
                    trade.trade_no,
                    trade.out_trade_no,
                    TRADE,
                    trade.link.order.subject,
                    stamp(trade.gmt_create),
                    stamp(trade.gmt_payment),
                    trade.total_amount,
                    trade.receipt_amount,
                    "",
                    -_fee(trade.receipt_amount),
                )
            )
        for refund in trade.refunds:
            if on_day(refund.gmt_refund):
                rows.append(
                    BillRow(
                        trade.trade_no,
                        trade.out_trade_no,
                        REFUND,
                        trade.link.order.subject,
                        stamp(trade.gmt_create),
                        stamp(refund.gmt_refund),
                        trade.total_amount,
                        -refund.refund_amount,
                        refund.out_request_no,
                        _fee(refund.refund_amount),
                    )
                )
    return rows


def add_query(url: str, params: dict[str, str], charset: str) -> str:
    parts = urlsplit(url)
    query = urlencode(params, encoding=charset)
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit(parts._replace(query=joined))
