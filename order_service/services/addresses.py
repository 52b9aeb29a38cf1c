"""A user's delivery addresses."""

from sqlalchemy.ext.asyncio import async_sessionmaker

from order_service.storage import addresses as address_rows


async def add_address(sessions: async_sessionmaker, user_id: int, fields: dict) -> dict:
    async with sessions() as session, session.begin():
        return await address_rows.add_address(session, user_id, fields)


async def list_addresses(sessions: async_sessionmaker, user_id: int) -> list[dict]:
    async with sessions() as session:
        return await address_rows.addresses_of(session, user_id)
