"""Refund a payment whose order was cancelled before the money arrived.

The refund request number is stable per payment, so a retry after a timeout or a crash asks
Alipay for the same refund again and Alipay answers it once (fund_change=N on the repeat).

A refund Alipay refuses for good (a signed business error such as ACQ.TRADE_HAS_FINISHED or
ACQ.REFUND_AMT_NOT_EQUAL_TOTAL) is marked `failed` with Alipay's reason and not asked again:
a person has to look at it. Transport errors, Alipay's own trouble and a refund Alipay cannot
yet confirm stay retryable.
"""

import structlog

from payment_service import metrics
from payment_service.alipay import (
    AlipayBusinessError,
    AlipayError,
    AlipaySystemError,
    InvalidSignature,
)
from payment_service.domain import payments as states
from payment_service.domain.payments import Payment, Refund, RefundStatus
from payment_service.services.runtime import Runtime
from payment_service.storage import records

log = structlog.get_logger(__name__)


class RefundNotConfirmed(AlipayError):
    """Alipay answered, but its refund query does not show our refund made: ask again later."""


class RefundRefused(Exception):
    """Alipay refused the refund for good; the refund row is `failed` with the reason."""


def refused_for_good(exc: AlipayError) -> bool:
    """A signed refusal that asking again will not change. Alipay's system errors say "retry",
    and a refused request signature is our configuration, fixed without touching the refund."""
    return isinstance(exc, AlipayBusinessError) and not isinstance(
        exc, AlipaySystemError | InvalidSignature
    )


def refusal_reason(exc: AlipayBusinessError) -> str:
    if exc.sub_code:
        return f"{exc.sub_code} {exc.sub_msg}".strip()
    return f"{exc.code} {exc.msg}".strip()


async def refund_late_payment(rt: Runtime, order_id: str) -> None:
    """Refund in full. Raises AlipayError when Alipay cannot confirm it (the caller retries),
    RefundRefused when Alipay refused it for good (the caller stops)."""
    async with rt.sessions.begin() as session:
        payment = await records.payment_by_order(session, order_id)
        if payment is None or payment.status == states.REFUNDED:
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


async def _record_refusal(
    rt: Runtime, payment: Payment, refund: Refund, exc: AlipayBusinessError
) -> None:
    reason = refusal_reason(exc)
    async with rt.sessions.begin() as session:
        await records.fail_refund(session, refund, reason)
    metrics.REFUNDS.labels(result="failed").inc()
    log.error(
        "refund_refused",
        out_trade_no=payment.out_trade_no,
        out_request_no=refund.out_request_no,
        amount=str(refund.amount),
        sub_code=exc.sub_code,
        sub_msg=exc.sub_msg,
        code=exc.code,
        msg=exc.msg,
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
        if payment is None or not await records.reopen_refund(session, payment.id):
            return False
        await records.enqueue_paid_event(session, payment, payment.trade_no, payment.paid_at)
    log.info("refund_requeued", order_id=order_id)
    return True
