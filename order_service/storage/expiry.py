"""The expiry sweeper's SQL: claiming due unpaid orders, and releasing a batch of them at once."""

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from order_service.domain.states import OrderStatus
from order_service.storage.order_queries import units_of
from order_service.storage.orders import transition_many
from order_service.storage.stock import return_stock
from order_service.storage.tables import orders
from shared.db import claim_and_lease


async def claim_expired(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[Row]:
    """Up to `limit` unpaid orders past their pay_deadline and not leased (order_id,
    pay_method), oldest deadline first, each leased until `lease_until` in the caller's
    transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL: replicas never claim the same order)."""
    query = (
        select(orders.c.order_id, orders.c.pay_method)
        .where(
            orders.c.status == OrderStatus.UNPAID.value,
            orders.c.pay_deadline <= now,
            or_(orders.c.sweep_lease_until.is_(None), orders.c.sweep_lease_until <= now),
        )
        .order_by(orders.c.pay_deadline)
        .limit(limit)
    )
    lease = {"sweep_lease_until": lease_until}
    return await claim_and_lease(session, query, orders.c.order_id, lease)


async def cancel_unpaid(
    session: AsyncSession, order_ids: list[str], at: datetime, reason: str
) -> list[str]:
    """Cancel those of `order_ids` that are still unpaid and give their units back to stock
    (and out of sales), in the caller's transaction: one guarded UPDATE for the orders, then
    the units summed per SKU through the stock module (ascending SKU ids, its one lock order).
    Returns the ids cancelled by this call; the others had been moved by someone else."""
    canceled = await transition_many(
        session,
        order_ids,
        OrderStatus.UNPAID,
        OrderStatus.CANCELED,
        canceled_at=at,
        cancel_reason=reason,
    )
    if canceled:
        await return_stock(session, await units_of(session, canceled))
    return canceled
