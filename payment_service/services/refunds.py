"""Refunds at Alipay: the merchant's (full or partial, from the back office) and the automatic
refund of a payment whose order was cancelled before the money arrived.

Each refund has its own out_request_no (`<out_trade_no>R<n>`), stable from its creation, so a
retry after a timeout or a crash asks Alipay for the same refund again and Alipay answers it
once (fund_change=N on the repeat).

A refund Alipay refuses for good (a signed business error such as ACQ.TRADE_HAS_FINISHED or
ACQ.REFUND_AMT_NOT_EQUAL_TOTAL) is marked `failed` with Alipay's reason and not asked again:
a person has to look at it. Transport errors, Alipay's own trouble and a refund Alipay cannot
yet confirm stay retryable, as does ACQ.SELLER_BALANCE_NOT_ENOUGH (the protocol says: top
up, then ask again with the same out_request_no).

A merchant refund is created, with a `refund.request` outbox row, in one transaction that holds
the payment's row lock and checks that every refund not failed, this one included, stays
within what was paid: two racing refunds cannot together exceed it. It is then tried at once;
when that does not settle it, the relay tries again on the outbox's backoff. Settling it (here,
in the relay, or on Alipay's refund notify, whichever comes first: a guarded update) adds it to
the payment's refunded total and queues a `payment.refund` event for the order service.
"""

from decimal import Decimal
from typing import TypeGuard

import structlog

from payment_service import metrics
from payment_service.alipay import (
    AlipayBusinessError,
    AlipayConfigurationError,
    AlipayError,
    AlipaySystemError,
)
from payment_service.alipay.errors import SellerBalanceNotEnough
from payment_service.domain import payments as states
from payment_service.domain.errors import PaymentNotRefundable, RefundExceedsPaid
from payment_service.domain.payments import (
    Payment,
    PaymentStatus,
    Refund,
    RefundOrigin,
    RefundStatus,
)
from payment_service.services.runtime import Runtime
from payment_service.storage import records

log = structlog.get_logger(__name__)


class RefundNotConfirmed(AlipayError):
    """Alipay answered, but its refund query does not show our refund made: ask again later."""


class RefundRefused(Exception):
    """Alipay refused the refund for good; the refund row is `failed` with the reason."""


Refusal = AlipayBusinessError | AlipayConfigurationError


def refused_for_good(exc: AlipayError) -> TypeGuard[Refusal]:
    """A refusal that asking again will not change: a signed business refusal, or our own
    configuration (a key, the app id, a certificate; loud, for a person to fix and then
    `retry-refund`). Alipay's system errors say "retry", and ACQ.SELLER_BALANCE_NOT_ENOUGH means
    "top up, then retry with the same out_request_no": both retried with the relay's backoff."""
    if isinstance(exc, AlipayConfigurationError):
        return True
    return isinstance(exc, AlipayBusinessError) and not isinstance(
        exc, AlipaySystemError | SellerBalanceNotEnough
    )


def refusal_reason(exc: Refusal) -> str:
    if isinstance(exc, AlipayConfigurationError):
        return f"configuration: {exc}"
    if exc.sub_code:
        return f"{exc.sub_code} {exc.sub_msg}".strip()
    return f"{exc.code} {exc.msg}".strip()


async def refund_late_payment(rt: Runtime, order_id: str) -> None:
    """Refund in full. Raises AlipayError when Alipay cannot confirm it (the caller retries),
    RefundRefused when Alipay refused it for good (the caller stops)."""
    async with rt.sessions.begin() as session:
        payment = await records.payment_by_order(session, order_id)
        if payment is None or payment.status == PaymentStatus.REFUNDED:
            return
        out_request_no = states.refund_request_no(payment.out_trade_no)
        refund = await records.ensure_refund(
            session, payment, out_request_no, payment.amount, states.LATE_PAYMENT_REASON
        )
    if refund.status == RefundStatus.FAILED:
        raise RefundRefused(refund.last_error)
    if refund.status != RefundStatus.SUCCEEDED:
        try:
            await _refund_at_alipay(rt, payment, refund)
        except AlipayError as exc:
            if refused_for_good(exc):
                await _record_refusal(rt, payment, refund, exc)
            if isinstance(exc, SellerBalanceNotEnough):
                log.warning(
                    "refund_waits_for_balance",
                    out_trade_no=payment.out_trade_no,
                    amount=str(refund.amount),
                    hint="top up the Alipay account; the refund is retried with backoff",
                )
            raise
        metrics.REFUNDS.labels(result="succeeded").inc()
    async with rt.sessions.begin() as session:
        await records.complete_refund(session, refund, payment)
    log.info(
        "payment_refunded",
        out_trade_no=payment.out_trade_no,
        out_request_no=refund.out_request_no,
        reason=refund.reason,
    )


async def _record_refusal(rt: Runtime, payment: Payment, refund: Refund, exc: Refusal) -> None:
    reason = refusal_reason(exc)
    async with rt.sessions.begin() as session:
        await records.fail_refund(session, refund, reason)
    metrics.REFUNDS.labels(result="failed").inc()
    log.error(
        "refund_refused",
        out_trade_no=payment.out_trade_no,
        out_request_no=refund.out_request_no,
        amount=str(refund.amount),
        sub_code=getattr(exc, "sub_code", ""),
        sub_msg=getattr(exc, "sub_msg", ""),
        code=getattr(exc, "code", ""),
        error=str(exc),
    )
    raise RefundRefused(reason) from exc


async def _refund_at_alipay(rt: Runtime, payment: Payment, refund: Refund) -> None:
    answer = await rt.alipay.refund(
        payment.out_trade_no, refund.amount, refund.out_request_no, refund.reason
    )
    if answer.get("fund_change") == "Y":
        return
    # fund_change=N: a repeat of a refund already made, or not made; only the query can tell
    found = await rt.alipay.refund_query(payment.out_trade_no, refund.out_request_no)
    if not states.refund_confirmed(found, refund.amount):
        raise RefundNotConfirmed(f"refund not confirmed by the refund query: {found}")


async def retry_refused_refund(sessions, order_id: str) -> bool:
    """A person has dealt with what Alipay refused and wants the refund asked for again.

    The refund goes back to `requested` and the order's "paid" event is queued once more; the
    order service answers it with order_canceled, so the relay refunds as the first time, with
    the same out_request_no (a refund Alipay did make is never made twice). False when the order
    has no failed refund.
    """
    async with sessions.begin() as session:
        payment = await records.payment_by_order(session, order_id)
        if payment is None or payment.trade_no is None or payment.paid_at is None:
            return False  # never paid: nothing was refunded
        if not await records.reopen_refund(session, payment.id):
            return False
        await records.enqueue_paid_event(session, payment, payment.trade_no, payment.paid_at)
    log.info("refund_requeued", order_id=order_id)
    return True


async def request_refund(
    rt: Runtime, order_id: str, amount: Decimal, reason: str, request_key: str
) -> Refund:
    """The merchant's refund: made (or found again by its key), then tried at Alipay once.
    Returns the refund row as it stands after that attempt."""
    async with rt.sessions.begin() as session:
        payment = await records.payment_by_order(session, order_id, lock=True)
        if payment is None:
            raise PaymentNotRefundable(f"no payment for order {order_id}")
        refund = await records.refund_by_key(session, payment.id, request_key)
        if refund is None:
            if payment.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
                raise PaymentNotRefundable(f"the payment is {payment.status}")
            committed = await records.committed_refunds(session, payment.id)
            if committed + amount > payment.amount:
                raise RefundExceedsPaid(
                    f"{committed} is refunded or being refunded of {payment.amount}"
                )
            refund = await records.add_refund(
                session, payment, amount, reason, RefundOrigin.MERCHANT, request_key=request_key
            )
            log.info("refund_requested", order_id=order_id, out_request_no=refund.out_request_no)
    if refund.status == RefundStatus.REQUESTED:
        try:
            await process_refund(rt, refund.out_request_no)
        except AlipayError as exc:
            log.warning("refund_not_settled", order_id=order_id, error=str(exc))
    async with rt.sessions() as session:
        return records.known(await records.refund_of(session, refund.out_request_no), "the refund")


async def process_refund(rt: Runtime, out_request_no: str) -> str:
    """Ask Alipay for a `requested` refund and settle it: `succeeded` or `failed`. Raises
    AlipayError when the outcome is not known yet (the relay asks again later, same number)."""
    async with rt.sessions() as session:
        refund = await records.refund_of(session, out_request_no)
        if refund is None:
            return RefundStatus.FAILED
        if refund.status != RefundStatus.REQUESTED:
            return refund.status
        payment = records.known(
            await records.payment_by_id(session, refund.payment_id), "the refund's payment"
        )
    try:
        await _refund_at_alipay(rt, payment, refund)
    except AlipayError as exc:
        async with rt.sessions.begin() as session:
            if refused_for_good(exc):
                await records.fail_refund(session, refund, refusal_reason(exc))
            else:
                await records.note_refund_error(session, refund, str(exc))
        if refused_for_good(exc):
            metrics.REFUNDS.labels(result="failed").inc()
            log.error("refund_refused", out_request_no=out_request_no, reason=refusal_reason(exc))
            return "failed"
        raise
    async with rt.sessions.begin() as session:
        if await records.settle_refund(session, refund):
            metrics.REFUNDS.labels(result="succeeded").inc()
    log.info("payment_refunded", out_request_no=out_request_no, amount=str(refund.amount))
    return "succeeded"


async def apply_refund_notify(
    rt: Runtime, session, payment: Payment, params: dict, amount: Decimal | None
) -> str:
    """A verified refund notify (out_biz_no = the refund's out_request_no), in the notify's
    transaction. Ours: settled if it was not yet. Unknown: a refund made outside the shop, of
    `amount` (from the refund query), recorded and settled. Returns the notify's outcome."""
    out_request_no = params["out_biz_no"]
    await records.payment_by_order(session, payment.order_id, lock=True)
    refund = await records.refund_of(session, out_request_no)
    if refund is None:
        if amount is None:  # only a refund of ours comes without an amount: it exists
            raise LookupError(f"refund {out_request_no} is missing")
        refund = await records.add_refund(
            session,
            payment,
            amount,
            "refunded outside the shop (Alipay console)",
            RefundOrigin.CONSOLE,
            out_request_no=out_request_no,
        )
        log.warning("refund_outside_shop", order_id=payment.order_id, amount=str(amount))
    settled = await records.settle_refund(session, refund, from_failed=True)
    if settled:
        metrics.REFUNDS.labels(result="succeeded").inc()
    return "refunded" if settled else "duplicate"
