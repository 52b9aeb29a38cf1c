"""A user's delivery addresses."""

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from order_service.storage.tables import addresses
from shared.time import now_utc

_COLUMNS = [column for column in addresses.c if column.name not in ("user_id", "created_at")]


async def add_address(sessions: async_sessionmaker, user_id: int, fields: dict) -> dict:
    async with sessions() as session, session.begin():
        row = (
            await session.execute(
                insert(addresses)
                .values(user_id=user_id, created_at=now_utc(), **fields)
                .returning(*_COLUMNS)
            )
        ).one()
    return row._asdict()


async def list_addresses(sessions: async_sessionmaker, user_id: int) -> list[dict]:
    async with sessions() as session:
        rows = await session.execute(
            select(*_COLUMNS).where(addresses.c.user_id == user_id).order_by(addresses.c.id)
        )
        return [row._asdict() for row in rows]
