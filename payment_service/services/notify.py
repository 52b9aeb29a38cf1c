"""POST /alipay/notify: every notify is stored raw with its outcome; only a genuine one pays.

Answer `success` when the notify is verified and recorded (a repeat included), `fail` otherwise,
so Alipay retries anything we could not accept.
"""

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service import metrics
from payment_service.alipay import AlipayError
from payment_service.alipay.params import alipay_time_or_none
from payment_service.domain import notify as checks
from payment_service.domain import payments as states
from payment_service.domain.notify import NotifyRejected
from payment_service.domain.payments import Payment, PaymentStatus
from payment_service.services.refunds import apply_refund_notify
from payment_service.services.runtime import Runtime
from payment_service.storage import records

log = structlog.get_logger(__name__)


async def handle_notify(rt: Runtime, body: bytes) -> bool:
    """True to answer `success`."""
    params: dict | None = None
    verified = False
    try:
        params = checks.parse_form(body)
        checks.check_fields(params)
        if not rt.alipay.verify_callback(params):
            raise NotifyRejected("bad_signature")
        verified = True
        checks.check_merchant(params, rt.notify_checks)
        try:
            outcome = await _apply(rt, body, params)
        except sa.exc.IntegrityError as exc:
            # the trade_no is another payment's (paid before, or by a concurrent notify): its
            # unique index refused the update; the refusal is recorded in a fresh transaction
            if not await _trade_no_taken(rt, params):
                raise
            raise NotifyRejected("trade_no_conflict", "trade_no taken meanwhile") from exc
        metrics.NOTIFIES.labels(outcome=outcome).inc()
        if outcome == "paid":
            metrics.PAID.labels(source="notify").inc()
        return True
    except NotifyRejected as rejected:
        log.warning(
            "notify_rejected",
            outcome=rejected.outcome,
            detail=str(rejected),
            out_trade_no=(params or {}).get("out_trade_no"),
        )
        metrics.NOTIFIES.labels(outcome=rejected.outcome).inc()
        if verified:  # signed by Alipay: kept whole, however many
            await _record_rejected(rt, body[: checks.MAX_BODY_BYTES], True, rejected, params)
        elif await _may_store_unverified(rt):
            await _record_rejected(rt, body, False, rejected, params, checks.UNVERIFIED_KEEP_BYTES)
        else:
            metrics.NOTIFIES_UNSTORED.inc()
        return False


async def _record_rejected(
    rt: Runtime,
    body: bytes,
    verified: bool,
    rejected: NotifyRejected,
    params: dict | None,
    keep_bytes: int | None = None,
) -> None:
    async with rt.sessions.begin() as session:
        await records.record_notify(
            session, body, verified, rejected.outcome, params, keep_bytes=keep_bytes
        )


async def _may_store_unverified(rt: Runtime) -> bool:
    """Anyone can send an unsigned or forged notify: at most PAYMENT_UNVERIFIED_NOTIFIES_PER_MINUTE
    of them are stored per process and minute (0: no cap), the rest only counted."""
    limit = rt.settings.unverified_notifies_per_minute
    if limit == 0:
        return True
    count = await rt.unverified_notifies.hit("unverified_notify", 60)
    return count.events <= limit


async def _trade_no_taken(rt: Runtime, params: dict) -> bool:
    async with rt.sessions() as session:
        other = await records.payment_by_trade_no(session, params["trade_no"])
    return other is not None and other.out_trade_no != params["out_trade_no"]


async def _refuse_another_payments_trade_no(
    session: AsyncSession, payment: Payment, trade_no: str
) -> None:
    other = await records.payment_by_trade_no(session, trade_no)
    if other is not None and other.id != payment.id:
        # genuine signature, yet Alipay's trade number is already another payment's
        raise NotifyRejected("trade_no_conflict", f"trade_no belongs to {other.out_trade_no}")


def is_refund_notify(params: dict) -> bool:
    """A refund notify carries the refund's number (out_biz_no) and the cumulative refund_fee;
    a timeout close (TRADE_CLOSED too) carries neither."""
    return bool(params.get("out_biz_no") and params.get("refund_fee"))


async def _outside_refund_amount(rt: Runtime, params: dict):
    """The amount of a refund we do not know (made in Alipay's console), from the refund query:
    the notify carries only the cumulative refund_fee. None for a refund of ours."""
    async with rt.sessions() as session:
        if await records.refund_of(session, params["out_biz_no"]) is not None:
            return None
    try:
        found = await rt.alipay.refund_query(params["out_trade_no"], params["out_biz_no"])
    except AlipayError as exc:
        raise NotifyRejected("refund_unconfirmed", f"refund query failed: {exc}") from exc
    amount = states.confirmed_refund_amount(found)
    if amount is None:
        raise NotifyRejected("refund_unconfirmed", f"refund query does not show it: {found}")
    return amount


async def _apply(rt: Runtime, body: bytes, params: dict) -> str:
    """In one transaction: the payment's change (if any), its outbox event, the notify record.
    Returns the recorded outcome."""
    refund_amount = None
    if is_refund_notify(params):
        refund_amount = await _outside_refund_amount(rt, params)
    async with rt.sessions.begin() as session:
        payment = await records.payment_by_out_trade_no(session, params["out_trade_no"])
        if payment is None:
            raise NotifyRejected("unknown_trade")
        checks.check_amount(params, payment.amount)
        outcome = "recorded"
        if states.is_paid_status(params["trade_status"]):
            # A trade_no already another payment's fails this update on its unique index (see
            # handle_notify); a payment paid before is not updated, so it is checked here.
            paid = await records.mark_paid(
                session,
                payment,
                params["trade_no"],
                alipay_time_or_none(params.get("gmt_payment")),
                states.paid_amounts(params),
            )
            if not paid:
                await _refuse_another_payments_trade_no(session, payment, params["trade_no"])
            outcome = "paid" if paid else "duplicate"
            if paid:
                log.info(
                    "payment_paid",
                    out_trade_no=payment.out_trade_no,
                    source="notify",
                    was=payment.status,
                )
        if is_refund_notify(params) and (
            outcome == "paid" or payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED)
        ):
            outcome = await apply_refund_notify(rt, session, payment, params, refund_amount)
        await records.record_notify(session, body, True, outcome, params)
    return outcome
