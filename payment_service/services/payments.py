"""Create a payment (and its link), close it, and apply a trade's state as Alipay reports it."""

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service import metrics
from payment_service.alipay import (
    AlipayConfigurationError,
    AlipayError,
    AlipayGatewayError,
    AlipaySystemError,
    TradeNotExist,
    TradeStatusError,
)
from payment_service.alipay.params import alipay_time_or_none
from payment_service.domain import payments as states
from payment_service.domain.errors import (
    AlipayMisconfigured,
    AlipayUnavailable,
    AmountMismatch,
    PaymentNotOpen,
)
from payment_service.domain.payments import Payment, PaymentStatus
from payment_service.services.runtime import Runtime
from payment_service.storage import records
from shared.db import autocommit_session
from shared.time import now_utc

log = structlog.get_logger(__name__)


async def create_payment(
    rt: Runtime,
    order_id: str,
    amount: Decimal,
    subject: str,
    channel: str,
    pay_deadline: datetime,
) -> tuple[Payment, str]:
    """The order's one payment and a fresh pay link; the same order twice gives the same payment."""
    async with autocommit_session(rt.sessions) as session:
        payment = await records.insert_payment_once(
            session,
            order_id=order_id,
            out_trade_no=order_id,
            amount=amount,
            subject=subject,
            channel=channel,
            status=PaymentStatus.CREATED,
            pay_deadline=pay_deadline,
            created_at=now_utc(),
        )
        if payment.amount != amount:
            raise AmountMismatch(f"Order {order_id} already has a payment of {payment.amount}.")
        if payment.status != PaymentStatus.CREATED:
            raise PaymentNotOpen(f"The payment of order {order_id} is {payment.status}.")
        if payment.channel != channel:
            await records.set_channel(session, payment.id, channel)
    if payment.pay_deadline <= now_utc():
        raise PaymentNotOpen(f"The pay deadline of order {order_id} has passed.")
    url = rt.alipay.pay_url(
        channel,
        payment.out_trade_no,
        payment.amount,
        payment.subject,
        time_expire=payment.pay_deadline,
        notify_url=rt.settings.notify_url,
        return_url=rt.settings.return_url,
        quit_url=rt.settings.quit_url(order_id),
    )
    return replace(payment, channel=channel), url


async def apply_trade(rt: Runtime, payment: Payment, trade: dict, source: str = "query") -> bool:
    """Apply what alipay.trade.query says, as a notify would: paid (once) when it was paid.
    `source` (query: the reconciler, close: a close request) is what the log and metric say."""
    if not states.is_paid_status(trade.get("trade_status")):
        return False
    if Decimal(str(trade.get("total_amount", "0"))) != payment.amount:
        log.error(
            "query_amount_mismatch",
            out_trade_no=payment.out_trade_no,
            total_amount=trade.get("total_amount"),
        )
        return False
    paid_at = alipay_time_or_none(trade.get("send_pay_date"))
    async with rt.sessions.begin() as session:
        applied = await records.mark_paid(
            session, payment, trade["trade_no"], paid_at, states.paid_amounts(trade)
        )
    if applied:
        metrics.PAID.labels(source=source).inc()
        log.info("payment_paid", out_trade_no=payment.out_trade_no, source=source)
    return True


async def close_payment(rt: Runtime, order_id: str) -> states.CloseOutcome:
    """`closed` or `paid`: Alipay decides, so a trade paid at the last moment is not lost.
    AlipayUnavailable (503) or AlipayMisconfigured (502) when Alipay cannot settle it."""
    async with rt.sessions.begin() as session:
        payment = await records.payment_by_order(session, order_id)
    if payment is None:
        return PaymentStatus.CLOSED
    settled = _settled_here(payment)
    if settled is not None:
        return settled
    at_alipay = await _ask_alipay_to_close(rt, payment)
    if at_alipay == PaymentStatus.PAID:
        return PaymentStatus.PAID
    async with rt.sessions.begin() as session:
        return await _record_closed(rt, session, payment, at_alipay)


async def close_payments(
    rt: Runtime, order_ids: list[str], concurrency: int
) -> dict[str, states.BatchCloseOutcome]:
    """`close_payment` for a batch of orders (the expiry sweeper's round), `concurrency` Alipay
    calls at a time: one read of all their payments and one transaction recording the closes,
    instead of one of each per order. An order whose close Alipay cannot settle answers
    `unavailable` (the others are still answered); an order without a payment costs no call."""
    async with rt.sessions.begin() as session:
        found = await records.payments_by_orders(session, order_ids)
    answers: dict[str, states.BatchCloseOutcome] = {}
    to_ask = []
    for order_id in order_ids:
        payment = found.get(order_id)
        settled = PaymentStatus.CLOSED if payment is None else _settled_here(payment)
        if settled is not None:
            answers[order_id] = settled
        elif payment is not None:
            to_ask.append(payment)
    gate = asyncio.Semaphore(concurrency)

    async def ask(payment: Payment) -> str:
        async with gate:
            try:
                return await _ask_alipay_to_close(rt, payment)
            except (AlipayUnavailable, AlipayMisconfigured) as exc:
                log.warning("close_unavailable", order_id=payment.order_id, error=str(exc))
                return states.UNAVAILABLE

    at_alipay = await asyncio.gather(*(ask(payment) for payment in to_ask))
    async with rt.sessions.begin() as session:
        for payment, outcome in zip(to_ask, at_alipay, strict=True):
            if outcome == PaymentStatus.PAID:
                answers[payment.order_id] = PaymentStatus.PAID
            elif outcome == states.UNAVAILABLE:
                answers[payment.order_id] = states.UNAVAILABLE
            else:
                answers[payment.order_id] = await _record_closed(rt, session, payment, outcome)
    return answers


def _settled_here(payment: Payment) -> states.CloseOutcome | None:
    """What our own record already settles: a closed (or refunded) payment is closed, a paid one
    paid; None for an open payment, which Alipay must settle."""
    if payment.status in (PaymentStatus.CLOSED, PaymentStatus.REFUNDED):
        return PaymentStatus.CLOSED
    if payment.status == PaymentStatus.PAID:
        return PaymentStatus.PAID
    return None


async def _ask_alipay_to_close(rt: Runtime, payment: Payment) -> str:
    """`_close_at_alipay`, its failures as the domain's errors."""
    try:
        return await _close_at_alipay(rt, payment)
    except AlipayConfigurationError as exc:
        log.error("alipay_misconfigured", order_id=payment.order_id, error=str(exc))
        raise AlipayMisconfigured(f"Alipay refuses our configuration: {exc}") from exc
    except AlipayError as exc:
        raise AlipayUnavailable(f"Alipay could not be asked: {exc}") from exc


async def _record_closed(
    rt: Runtime, session: AsyncSession, payment: Payment, at_alipay: str
) -> states.CloseOutcome:
    """Record a payment closed (in the caller's transaction): `closed`, or `paid` when a notify
    marked it paid while we were closing."""
    # A trade that never reached Alipay is closed here only: its link stays payable at Alipay
    # until pay_deadline, so the reconciler keeps asking about it (next_check_at) until then,
    # in case a late payment's notifies are all lost. A trade closed at Alipay needs no watch.
    watch_from = None
    if at_alipay == _NOT_AT_ALIPAY:
        watch_from = now_utc() + timedelta(seconds=rt.settings.reconcile_after_seconds)
    if await records.move(
        session, payment.id, PaymentStatus.CLOSED, closed_at=now_utc(), next_check_at=watch_from
    ):
        return PaymentStatus.CLOSED
    current = records.known(await records.payment_by_id(session, payment.id), "the payment")
    return PaymentStatus.PAID if current.status == PaymentStatus.PAID else PaymentStatus.CLOSED


_NOT_AT_ALIPAY = "not_at_alipay"


async def _close_at_alipay(rt: Runtime, payment: Payment) -> str:
    """`paid` when Alipay says paid (then recorded), `closed` when the trade is closed there,
    `not_at_alipay` when there is no trade to close (the buyer never reached the cashier).

    alipay.trade.close first: an open trade, the usual case, is settled by one call. Alipay
    closes only a trade that waits for the buyer, so a close that succeeds means no payment can
    succeed any more. ACQ.TRADE_STATUS_ERROR (paid, or closed already) and an unknown outcome
    are settled by a query (`_settle_by_query`), which finds a payment if there was one.
    """
    try:
        await rt.alipay.close(payment.out_trade_no)
    except TradeNotExist:
        return _NOT_AT_ALIPAY
    except (TradeStatusError, AlipayGatewayError, AlipaySystemError):
        return await _settle_by_query(rt, payment)
    return PaymentStatus.CLOSED


async def _settle_by_query(rt: Runtime, payment: Payment) -> str:
    """What a close could not settle: `paid` (recorded), `closed` or `not_at_alipay`."""
    out_trade_no = payment.out_trade_no
    try:
        trade = await rt.alipay.query(out_trade_no)
    except TradeNotExist:
        return _NOT_AT_ALIPAY
    except (AlipayGatewayError, AlipaySystemError) as exc:
        # We cannot tell whether the buyer paid. While the buyer may still pay, the order
        # service asks again later; once the time is up, alipay.trade.cancel settles it.
        if now_utc() < payment.pay_deadline:
            raise
        log.warning("close_query_unknown_cancelling", out_trade_no=out_trade_no, error=str(exc))
        return await _cancel_at_alipay(rt, payment)
    if await apply_trade(rt, payment, trade, source="close"):
        return PaymentStatus.PAID
    if trade.get("trade_status") != "WAIT_BUYER_PAY":
        return PaymentStatus.CLOSED
    try:
        await rt.alipay.close(out_trade_no)
    except TradeNotExist:
        return _NOT_AT_ALIPAY
    except TradeStatusError:
        # paid (or closed) between our query and our close: ask again
        paid = await apply_trade(rt, payment, await rt.alipay.query(out_trade_no), "close")
        return PaymentStatus.PAID if paid else PaymentStatus.CLOSED
    return PaymentStatus.CLOSED


CANCEL_ATTEMPTS = 3
CANCEL_RETRY_WAIT = 1.0


async def _cancel_at_alipay(rt: Runtime, payment: Payment) -> str:
    """alipay.trade.cancel: Alipay closes the trade if unpaid, refunds it in full if paid.

    `closed` either way: the buyer keeps (or gets back) the money, so the order is cancelled.
    A refund made by the cancel is recorded (payment `refunded`, with a succeeded refund row),
    and no "paid" event is sent. `retry_flag=Y` means call again with the same parameters.
    """
    out_trade_no = payment.out_trade_no
    for attempt in range(1, CANCEL_ATTEMPTS + 1):
        try:
            result = await rt.alipay.cancel(out_trade_no)
        except TradeNotExist:
            return _NOT_AT_ALIPAY
        if result.get("retry_flag") != "Y":
            break
        if attempt == CANCEL_ATTEMPTS:
            raise AlipayGatewayError(f"alipay.trade.cancel {out_trade_no}: still retry_flag=Y")
        await asyncio.sleep(CANCEL_RETRY_WAIT)
    action = result.get("action")
    log.info("payment_cancelled_at_alipay", out_trade_no=out_trade_no, action=action)
    if action == "refund":
        async with rt.sessions.begin() as session:
            if await records.record_cancel_refund(session, payment, result.get("trade_no") or ""):
                metrics.REFUNDS.labels(result="cancelled").inc()
    return PaymentStatus.CLOSED
