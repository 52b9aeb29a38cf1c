"""Writing new orders: idempotency keys, the orders and their lines, several at a time."""

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from order_service.domain.states import OrderStatus
from order_service.storage.tables import addresses, idempotency_keys, order_lines, orders
from shared.db import insert_with_on_conflict

_OWNED_ADDRESSES = select(addresses.c.id, addresses.c.user_id).where(
    addresses.c.id.in_(bindparam("ids", expanding=True))
)


async def owned_addresses(conn: AsyncConnection, address_ids) -> dict[int, int]:
    """Address id -> the user who owns it, for the ids that exist."""
    rows = await conn.execute(_OWNED_ADDRESSES, {"ids": sorted(set(address_ids))})
    return {row.id: row.user_id for row in rows}


_UNPAID_OF = (
    select(orders.c.user_id, func.count())
    .where(
        orders.c.user_id.in_(bindparam("users", expanding=True)),
        orders.c.status == OrderStatus.UNPAID.value,
    )
    .group_by(orders.c.user_id)
)


async def unpaid_orders_of(conn: AsyncConnection, user_ids) -> dict[int, int]:
    """Unpaid orders per user, for the users given (a user with none is absent)."""
    rows = await conn.execute(_UNPAID_OF, {"users": sorted(set(user_ids))})
    return {user_id: count for user_id, count in rows}


async def claim_keys(conn: AsyncConnection, claims: list[dict]) -> set[tuple[int, str]]:
    """Insert idempotency keys (user_id, key, request_digest, order_id, created_at).

    Returns the (user_id, key) pairs that were new. A key another transaction is inserting makes
    this wait for that transaction's end (the unique key), so a pair missing from the answer
    belongs to an order that was committed.
    """
    if not claims:
        return set()
    rows = await conn.execute(
        insert_with_on_conflict(conn, idempotency_keys)
        .values(claims)
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.user_id, idempotency_keys.c.key)
    )
    return {(row.user_id, row.key) for row in rows}


async def release_keys(conn: AsyncConnection, pairs: list[tuple[int, str]]) -> None:
    """Forget keys claimed in this transaction by orders that were refused."""
    if pairs:
        await conn.execute(
            delete(idempotency_keys).where(
                or_(
                    *(
                        and_(idempotency_keys.c.user_id == user, idempotency_keys.c.key == key)
                        for user, key in pairs
                    )
                )
            )
        )


async def find_key(conn: AsyncConnection, user_id: int, key: str):
    """(request_digest, order_id) of a committed key."""
    return (
        await conn.execute(
            select(idempotency_keys.c.request_digest, idempotency_keys.c.order_id).where(
                tuple_(idempotency_keys.c.user_id, idempotency_keys.c.key) == (user_id, key)
            )
        )
    ).one()


async def insert_orders(conn: AsyncConnection, rows: list[dict], lines: list[dict]) -> None:
    """The orders and their lines, one (pipelined) statement each."""
    await conn.execute(insert(orders), rows)
    await conn.execute(insert(order_lines), lines)
