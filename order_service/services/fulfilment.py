"""After payment: the merchant ships, the buyer confirms receipt, then comments each line.

unsent → unreceived (ship, with carrier and tracking number) → uncomment (receive) → finished
(comments). Each is one guarded transition; a wrong state answers the move's 409.
"""

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from order_service.domain.errors import Unprocessable
from order_service.domain.states import OrderStatus, ensure_move
from order_service.services.orders_read import admin_order, load_order, not_found
from order_service.storage.comments import add_comments
from order_service.storage.order_queries import find_order, line_counts
from order_service.storage.orders import transition
from shared.time import now_utc

log = structlog.get_logger(__name__)


async def _move(
    session: AsyncSession,
    order_id: str,
    user_id: int | None,
    source: OrderStatus,
    target: OrderStatus,
    **values,
) -> None:
    """Checks the order (the user's own when given) and applies source → target, or raises."""
    row = await find_order(session, order_id, user_id)
    if row is None:
        raise not_found(order_id)
    if row.status != source:
        ensure_move(row.status, target)  # raises the target's 409 with the current status
    if not await transition(session, order_id, source, target, **values):
        # moved by someone else between the read and the update: report what it is now
        current = (await find_order(session, order_id)).status
        ensure_move(current, target)


async def ship(sessions: async_sessionmaker, order_id: str, carrier: str, tracking_no: str) -> dict:
    async with sessions() as session, session.begin():
        await _move(
            session,
            order_id,
            None,
            OrderStatus.UNSENT,
            OrderStatus.UNRECEIVED,
            carrier=carrier,
            tracking_no=tracking_no,
            shipped_at=now_utc(),
        )
    log.info("order_shipped", order_id=order_id, carrier=carrier)
    async with sessions() as session:
        return await admin_order(session, order_id)


async def receive(sessions: async_sessionmaker, user_id: int, order_id: str) -> dict:
    async with sessions() as session, session.begin():
        await _move(
            session,
            order_id,
            user_id,
            OrderStatus.UNRECEIVED,
            OrderStatus.UNCOMMENT,
            received_at=now_utc(),
        )
    async with sessions() as session:
        return await load_order(session, order_id, user_id)


async def comment(
    sessions: async_sessionmaker, user_id: int, order_id: str, items: list[dict]
) -> dict:
    """One comment per line of the order, all at once; the order is then finished."""
    async with sessions() as session, session.begin():
        row = await find_order(session, order_id, user_id)
        if row is None:
            raise not_found(order_id)
        ensure_move(row.status, OrderStatus.FINISHED)
        lines = await line_counts(session, order_id)
        given = [item["sku_id"] for item in items]
        if len(set(given)) != len(given) or set(given) != set(lines):
            raise Unprocessable(
                "comments_do_not_match_lines",
                "Give exactly one comment for each item of the order.",
            )
        now = now_utc()
        await _move(
            session, order_id, user_id, OrderStatus.UNCOMMENT, OrderStatus.FINISHED, finished_at=now
        )
        await add_comments(session, order_id, items, now)
    async with sessions() as session:
        return await load_order(session, order_id, user_id)
