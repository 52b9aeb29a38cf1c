"""The lost-notify safety net: payments still open a while after their link was made are
queried at Alipay and applied as a notify would be."""

from datetime import timedelta

import sqlalchemy as sa
import structlog

from payment_service.alipay import AlipayError, TradeNotExist
from payment_service.domain import payments as states
from payment_service.services.payments import apply_trade
from payment_service.services.runtime import Runtime
from payment_service.storage.tables import payments, utcnow

log = structlog.get_logger(__name__)

BATCH = 50


async def reconcile_once(rt: Runtime) -> int:
    """The number of payments found paid."""
    cutoff = utcnow() - timedelta(seconds=rt.settings.reconcile_after_seconds)
    async with rt.sessions.begin() as session:
        rows = (await session.execute(
            sa.select(payments)
            .where(payments.c.status == states.CREATED, payments.c.created_at <= cutoff)
            .order_by(payments.c.created_at)
            .limit(BATCH)
        )).mappings().all()
    found = 0
    for payment in rows:
        try:
            trade = await rt.alipay.query(payment["out_trade_no"])
        except TradeNotExist:
            continue
        except AlipayError as exc:
            log.warning("reconcile_query_failed", out_trade_no=payment["out_trade_no"],
                        error=str(exc))
            continue
        if await apply_trade(rt, payment, trade):
            found += 1
            log.info("reconcile_found_paid", out_trade_no=payment["out_trade_no"])
    return found
