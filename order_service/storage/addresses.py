"""A user's delivery addresses."""

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from order_service.storage.tables import addresses
from shared.time import now_utc

_COLUMNS = [column for column in addresses.c if column.name not in ("user_id", "created_at")]


async def add_address(session: AsyncSession, user_id: int, fields: dict) -> dict:
    """The new address as the buyer sees it (without its owner and time of creation)."""
    row = (
        await session.execute(
            insert(addresses)
            .values(user_id=user_id, created_at=now_utc(), **fields)
            .returning(*_COLUMNS)
        )
    ).one()
    return row._asdict()


async def addresses_of(session: AsyncSession, user_id: int) -> list[dict]:
    rows = await session.execute(
        select(*_COLUMNS).where(addresses.c.user_id == user_id).order_by(addresses.c.id)
    )
    return [row._asdict() for row in rows]
