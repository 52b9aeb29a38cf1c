"""POST /alipay/notify: every notify is stored raw with its outcome; only a genuine one pays.

Answer `success` when the notify is verified and recorded (a repeat included), `fail` otherwise,
so Alipay retries anything we could not accept.
"""

import structlog

from payment_service import metrics
from payment_service.alipay.params import alipay_time_or_none
from payment_service.domain import notify as checks
from payment_service.domain import payments as states
from payment_service.domain.notify import NotifyRejected
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
        outcome = await _apply(rt, body, params)
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
        async with rt.sessions.begin() as session:
            await records.record_notify(
                session, body[: checks.MAX_BODY_BYTES], verified, rejected.outcome, params
            )
        metrics.NOTIFIES.labels(outcome=rejected.outcome).inc()
        return False


async def _apply(rt: Runtime, body: bytes, params: dict) -> str:
    """In one transaction: the payment's change (if any), its outbox event, the notify record.
    Returns the recorded outcome."""
    async with rt.sessions.begin() as session:
        payment = await records.payment_by_out_trade_no(session, params["out_trade_no"])
        if payment is None:
            raise NotifyRejected("unknown_trade")
        checks.check_amount(params, payment.amount)
        outcome = "recorded"
        if states.is_paid_status(params["trade_status"]):
            paid = await records.mark_paid(
                session, payment, params["trade_no"], alipay_time_or_none(params.get("gmt_payment"))
            )
            outcome = "paid" if paid else "duplicate"
            if paid:
                log.info(
                    "payment_paid",
                    out_trade_no=payment.out_trade_no,
                    source="notify",
                    was=payment.status,
                )
        await records.record_notify(session, body, True, outcome, params)
    return outcome
