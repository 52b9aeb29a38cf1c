"""Refund a payment whose order was cancelled before the money arrived.

The refund request number is stable per payment, so a retry after a timeout or a crash asks
Alipay for the same refund again and Alipay answers it once (fund_change=N on the repeat).
"""

import structlog

from payment_service.alipay import AlipayBusinessError
from payment_service.domain import payments as states
from payment_service.services.runtime import Runtime
from payment_service.storage import records

log = structlog.get_logger(__name__)


async def refund_late_payment(rt: Runtime, order_id: str) -> None:
    """Refund in full; raises AlipayError when Alipay cannot confirm it (the caller retries)."""
    async with rt.sessions.begin() as session:
        payment = await records.payment_by_order(session, order_id)
        if payment is None or payment["status"] == states.REFUNDED:
            return
        out_request_no = states.refund_request_no(payment["out_trade_no"])
        refund = await records.ensure_refund(
            session, payment, out_request_no, payment["amount"], states.LATE_PAYMENT_REASON
        )
    if refund["status"] != "succeeded":
        await _refund_at_alipay(rt, payment, refund)
    async with rt.sessions.begin() as session:
        await records.complete_refund(session, refund, payment)
    log.info("payment_refunded", out_trade_no=payment["out_trade_no"],
             out_request_no=refund["out_request_no"], reason=refund["reason"])


async def _refund_at_alipay(rt: Runtime, payment, refund) -> None:
    answer = await rt.alipay.refund(
        payment["out_trade_no"], refund["amount"], refund["out_request_no"], refund["reason"]
    )
    if answer.get("fund_change") == "Y":
        return
    # fund_change=N: a repeat of a refund already made, or not made; only the query can tell
    found = await rt.alipay.refund_query(payment["out_trade_no"], refund["out_request_no"])
    if not states.refund_confirmed(found, refund["amount"]):
        raise AlipayBusinessError("10000", "refund not confirmed", "", "", found)
