"""Reading orders: one order, one user's or the back office's search a page at a time, and
what hangs off an order (lines, refunds, buyer and address)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from order_service.storage.tables import addresses, order_lines, order_refunds, orders, users

Reader = AsyncSession | AsyncConnection


@dataclass(frozen=True)
class OrderFilter:
    user_id: int | None = None
    status: str | None = None
    q: str | None = None  # an order id prefix or a username prefix
    created_from: datetime | None = None
    created_to: datetime | None = None


async def find_order(session: Reader, order_id: str, user_id: int | None = None):
    """The order row, or None; with a user id only that user's own order."""
    query = select(orders).where(orders.c.order_id == order_id)
    if user_id is not None:
        query = query.where(orders.c.user_id == user_id)
    return (await session.execute(query)).first()


async def find_orders(session: Reader, order_ids: list[str]) -> dict:
    """Order id -> its row, for the ids that exist."""
    rows = await session.execute(select(orders).where(orders.c.order_id.in_(order_ids)))
    return {row.order_id: row for row in rows}


async def order_status(session: Reader, order_id: str) -> str | None:
    return await session.scalar(select(orders.c.status).where(orders.c.order_id == order_id))


async def to_pay(session: Reader, order_id: str, user_id: int) -> list:
    """What a payment link needs of a buyer's order, in one query: a row per line (status,
    pay_method, total_amount, pay_deadline and the line's name), by sku id; none when the
    user has no such order."""
    rows = await session.execute(
        select(
            orders.c.status,
            orders.c.pay_method,
            orders.c.total_amount,
            orders.c.pay_deadline,
            order_lines.c.name,
        )
        .join(order_lines, order_lines.c.order_id == orders.c.order_id)
        .where(orders.c.order_id == order_id, orders.c.user_id == user_id)
        .order_by(order_lines.c.sku_id)
    )
    return list(rows.all())


async def line_counts(session: Reader, order_id: str) -> dict[int, int]:
    """SKU id -> units, for each line of the order."""
    return await units_of(session, [order_id])


async def units_of(session: Reader, order_ids: list[str]) -> dict[int, int]:
    """SKU id -> units, summed over the lines of the orders (a batch given back at once)."""
    rows = await session.execute(
        select(order_lines.c.sku_id, func.sum(order_lines.c.count))
        .where(order_lines.c.order_id.in_(order_ids))
        .group_by(order_lines.c.sku_id)
    )
    return {sku_id: int(units) for sku_id, units in rows}


def _escaped_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _conditions(where: OrderFilter) -> list:
    conditions = []
    if where.user_id is not None:
        conditions.append(orders.c.user_id == where.user_id)
    if where.status is not None:
        conditions.append(orders.c.status == where.status)
    if where.created_from is not None:
        conditions.append(orders.c.created_at >= where.created_from)
    if where.created_to is not None:
        conditions.append(orders.c.created_at < where.created_to)
    if where.q:
        prefix = _escaped_prefix(where.q)
        by_name = select(users.c.id).where(users.c.username.like(prefix, escape="\\"))
        conditions.append(
            or_(orders.c.order_id.like(prefix, escape="\\"), orders.c.user_id.in_(by_name))
        )
    return conditions


async def search(session: Reader, where: OrderFilter, offset: int, limit: int):
    """(rows of one page, newest first; the total that match)."""
    conditions = _conditions(where)
    total = await session.scalar(select(func.count()).select_from(orders).where(*conditions))
    rows = (
        await session.execute(
            select(orders)
            .where(*conditions)
            .order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    return rows, total


async def _by_order(session: Reader, table: Table, order_ids: list[str], *order_by) -> dict:
    """The rows of `table` that belong to each of the orders, in `order_by` order."""
    grouped: dict[str, list] = {order_id: [] for order_id in order_ids}
    if order_ids:
        rows = await session.execute(
            select(table).where(table.c.order_id.in_(order_ids)).order_by(*order_by)
        )
        for row in rows:
            grouped[row.order_id].append(row._mapping)
    return grouped


async def lines_by_order(session: Reader, order_ids: list[str]) -> dict[str, list]:
    return await _by_order(session, order_lines, order_ids, order_lines.c.sku_id)


async def refunds_by_order(session: Reader, order_ids: list[str]) -> dict[str, list]:
    by = (order_refunds.c.created_at, order_refunds.c.refund_id)
    return await _by_order(session, order_refunds, order_ids, *by)


async def buyers_and_addresses(session: Reader, rows) -> tuple[dict, dict]:
    """(user id -> username, address id -> address row) for the given order rows."""
    user_ids = sorted({row.user_id for row in rows})
    address_ids = sorted({row.address_id for row in rows})
    names, places = {}, {}
    if user_ids:
        result = await session.execute(
            select(users.c.id, users.c.username).where(users.c.id.in_(user_ids))
        )
        names = {row.id: row.username for row in result}
    if address_ids:
        result = await session.execute(select(addresses).where(addresses.c.id.in_(address_ids)))
        places = {row.id: row._mapping for row in result}
    return names, places
