"""Writes of existing orders: one guarded transition driven by the state table, and the
trade number of an order found paid without it."""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from order_service.domain.states import OrderStatus, ensure_move
from order_service.storage.tables import orders
from shared.results import updated_rows

Executor = AsyncConnection | AsyncSession


async def transition(
    executor: Executor, order_id: str, source: OrderStatus, target: OrderStatus, **values
) -> bool:
    """`UPDATE orders SET status = :target ... WHERE order_id = :id AND status = :source`.

    The move must be in `domain/states.TRANSITIONS` (else InvalidTransition, a programming error
    or a stale read). True when this call applied it; False when the order was no longer in
    `source` (someone else moved it first), so of two racing moves exactly one applies.
    """
    ensure_move(source, target)
    result = await executor.execute(
        update(orders)
        .where(orders.c.order_id == order_id, orders.c.status == OrderStatus(source).value)
        .values(status=OrderStatus(target).value, **values)
    )
    return updated_rows(result) == 1


async def record_trade_no(
    executor: Executor, order_id: str, trade_no: str, paid_at: datetime
) -> None:
    """Give a paid order without a trade number (a close found the trade paid) the trade
    number and payment time of the paid event that followed; one that has them keeps them."""
    await executor.execute(
        update(orders)
        .where(orders.c.order_id == order_id, orders.c.trade_no.is_(None))
        .values(trade_no=trade_no, paid_at=paid_at)
    )


async def transition_many(
    executor: Executor, order_ids: list[str], source: OrderStatus, target: OrderStatus, **values
) -> list[str]:
    """`transition` for many orders in one statement: the ids it moved (the others were no
    longer in `source`)."""
    ensure_move(source, target)
    if not order_ids:
        return []
    result = await executor.execute(
        update(orders)
        .where(orders.c.order_id.in_(order_ids), orders.c.status == OrderStatus(source).value)
        .values(status=OrderStatus(target).value, **values)
        .returning(orders.c.order_id)
    )
    return list(result.scalars())
