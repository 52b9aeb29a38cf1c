"""Expiry: unpaid orders past their pay_deadline are closed at the payment service, then cancelled.

Any number of replicas may run the sweeper. Each round leases a batch of due orders (claimed
with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two replicas never take the same order; a plain
select on SQLite, one process) by setting `sweep_lease_until`, commits, and only then calls the
payment service for each, outside any transaction. An order whose close cannot be confirmed
stays unpaid and is retried once its lease runs out.
"""

from datetime import timedelta

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from order_service.clients.payment import PaymentClient
from order_service.domain.errors import PaymentUnavailable
from order_service.domain.states import OrderStatus
from order_service.services.lifecycle import CancelOutcome, cancel_or_mark_paid
from order_service.storage.tables import orders
from shared.db import claim_and_lease
from shared.time import now_utc

log = structlog.get_logger(__name__)
BATCH_SIZE = 50
_COUNTED = {
    CancelOutcome.CANCELED: "canceled",
    CancelOutcome.PAID: "paid",
    CancelOutcome.NOT_UNPAID: "skipped",
}


async def claim_expired(sessions: async_sessionmaker, lease_seconds: float) -> list:
    now = now_utc()
    query = (
        select(orders.c.order_id, orders.c.pay_method)
        .where(
            orders.c.status == OrderStatus.UNPAID.value,
            orders.c.pay_deadline <= now,
            or_(orders.c.sweep_lease_until.is_(None), orders.c.sweep_lease_until <= now),
        )
        .order_by(orders.c.pay_deadline)
        .limit(BATCH_SIZE)
    )
    lease = {"sweep_lease_until": now + timedelta(seconds=lease_seconds)}
    async with sessions() as session, session.begin():
        return await claim_and_lease(session, query, orders.c.order_id, lease)


async def sweep_once(
    sessions: async_sessionmaker, payments: PaymentClient, lease_seconds: float
) -> dict:
    """One round: how many orders were cancelled, found paid, left for later, or skipped."""
    outcome = {"canceled": 0, "paid": 0, "deferred": 0, "skipped": 0}
    for row in await claim_expired(sessions, lease_seconds):
        try:
            status = await cancel_or_mark_paid(sessions, payments, row, "expired")
        except PaymentUnavailable:
            outcome["deferred"] += 1
            log.warning("expiry_deferred", order_id=row.order_id)
            continue
        outcome[_COUNTED[status]] += 1
    if any(outcome.values()):
        log.info("sweep", **outcome)
    return outcome
