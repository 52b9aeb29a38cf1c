"""The lost-notify safety net: payments still open a while after their link was made are
queried at Alipay and applied as a notify would be.

Like the outbox relay, due rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) and their
next_check_at is pushed forward in the same transaction, before Alipay is asked: replicas never
query the same payment at once, and a payment just checked waits its turn behind the others.
The wait doubles with the payment's age (the first check comes PAYMENT_RECONCILE_AFTER_SECONDS
after creation, the next ones at about 2x, 4x, 8x that age), capped at MAX_BACKOFF.

A payment closed here while its trade did not exist at Alipay (see close_payment) keeps a
next_check_at: its link can still be paid until pay_deadline, so it is checked the same way
until a check after the link has expired finds it unpaid; then next_check_at is cleared.
"""

from datetime import datetime, timedelta

import structlog

from payment_service.alipay import AlipayError, TradeNotExist
from payment_service.domain.payments import Payment, PaymentStatus
from payment_service.services.payments import apply_trade
from payment_service.services.runtime import Runtime
from payment_service.storage import records
from shared.time import now_utc

log = structlog.get_logger(__name__)

BATCH = 50
MIN_BACKOFF = timedelta(seconds=1)
MAX_BACKOFF = timedelta(hours=1)


def next_check(created_at: datetime, now: datetime, after: timedelta) -> datetime:
    """Wait as long as the payment is old (at least `after`, at most MAX_BACKOFF)."""
    return now + min(max(now - created_at, after, MIN_BACKOFF), MAX_BACKOFF)


async def claim_due(rt: Runtime) -> list[Payment]:
    """Open payments due for a check, oldest due first, each rescheduled before it is returned."""
    now = now_utc()
    after = timedelta(seconds=rt.settings.reconcile_after_seconds)
    async with rt.sessions.begin() as session:
        return await records.claim_due_checks(
            session, now, after, BATCH, lambda payment: next_check(payment.created_at, now, after)
        )


async def reconcile_once(rt: Runtime) -> int:
    """Query the payments due at Alipay; the number found paid."""
    found = 0
    for payment in await claim_due(rt):
        asked_at = now_utc()
        try:
            trade = await rt.alipay.query(payment.out_trade_no)
        except TradeNotExist:
            trade = None  # the buyer never reached the cashier (yet)
        except AlipayError as exc:
            log.warning("reconcile_query_failed", out_trade_no=payment.out_trade_no, error=str(exc))
            continue
        if trade is not None and await apply_trade(rt, payment, trade):
            found += 1
            log.info("reconcile_found_paid", out_trade_no=payment.out_trade_no)
        elif payment.status == PaymentStatus.CLOSED and _link_expired(rt, payment, asked_at):
            await _stop_watching(rt, payment)
    return found


def _link_expired(rt: Runtime, payment: Payment, asked_at: datetime) -> bool:
    """Asked past the link's time limit, with a margin for Alipay's clock and expiry run."""
    margin = timedelta(seconds=rt.settings.reconcile_after_seconds)
    return asked_at > payment.pay_deadline + margin


async def _stop_watching(rt: Runtime, payment: Payment) -> None:
    async with rt.sessions.begin() as session:
        await records.stop_watching(session, payment.id)
