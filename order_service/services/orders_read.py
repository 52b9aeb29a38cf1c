"""Reading orders back in the contract's shape."""

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from order_service.domain.errors import NotFound
from order_service.storage.tables import order_lines, orders

Reader = AsyncSession | AsyncConnection


def order_view(row: Mapping, lines: list[Mapping]) -> dict:
    """An order in the contract's shape, from its row and its lines (ascending sku id)."""
    return {
        "order_id": row["order_id"],
        "status": row["status"],
        "pay_method": row["pay_method"],
        "address_id": row["address_id"],
        "total_count": row["total_count"],
        "freight": row["freight"],
        "total_amount": row["total_amount"],
        "items": [
            {
                "sku_id": line["sku_id"],
                "name": line["name"],
                "count": line["count"],
                "price": line["price"],
            }
            for line in lines
        ],
        "created_at": row["created_at"],
        "pay_deadline": row["pay_deadline"],
        "paid_at": row["paid_at"],
        "canceled_at": row["canceled_at"],
        "cancel_reason": row["cancel_reason"],
    }


async def _lines_by_order(session: Reader, order_ids: list[str]) -> dict[str, list]:
    grouped: dict[str, list] = {order_id: [] for order_id in order_ids}
    if order_ids:
        rows = await session.execute(
            select(order_lines)
            .where(order_lines.c.order_id.in_(order_ids))
            .order_by(order_lines.c.sku_id)
        )
        for line in rows:
            grouped[line.order_id].append(line._mapping)
    return grouped


async def find_order(session: Reader, order_id: str, user_id: int | None = None):
    """The order row, or None; with a user id only that user's own order."""
    query = select(orders).where(orders.c.order_id == order_id)
    if user_id is not None:
        query = query.where(orders.c.user_id == user_id)
    return (await session.execute(query)).first()


def not_found(order_id: str) -> NotFound:
    return NotFound("order_not_found", f"There is no order {order_id} of yours.")


async def load_order(session: Reader, order_id: str, user_id: int | None = None) -> dict:
    row = await find_order(session, order_id, user_id)
    if row is None:
        raise not_found(order_id)
    lines = await _lines_by_order(session, [order_id])
    return order_view(row._mapping, lines[order_id])


async def list_orders(session: Reader, user_id: int) -> list[dict]:
    rows = (
        await session.execute(
            select(orders)
            .where(orders.c.user_id == user_id)
            .order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
        )
    ).all()
    lines = await _lines_by_order(session, [row.order_id for row in rows])
    return [order_view(row._mapping, lines[row.order_id]) for row in rows]
