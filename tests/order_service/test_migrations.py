"""The migrations and the tables the code uses describe the same schema, and CHECK holds."""

import asyncio

import pytest
from alembic import command
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from order_service.storage.tables import goods, skus
from shared.db import create_engine, session_factory
from shared.migrations import alembic_config
from tests.order_service.conftest import migrated_database


def _check(url: str) -> None:
    command.check(alembic_config("order", url))  # raises when autogenerate would find a difference


async def test_migrated_schema_matches_the_tables(pg_databases):
    url = await migrated_database(pg_databases)
    await asyncio.to_thread(_check, url)


async def test_the_database_refuses_negative_stock(pg_databases):
    engine = create_engine(await migrated_database(pg_databases))
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            goods_id = await session.scalar(insert(goods).values(name="g").returning(goods.c.id))
            sku_id = await session.scalar(
                insert(skus)
                .values(goods_id=goods_id, name="s", price="1.00", stock=1)
                .returning(skus.c.id)
            )
        with pytest.raises(IntegrityError, match="skus_stock_not_negative"):
            async with sessions() as session, session.begin():
                await session.execute(update(skus).where(skus.c.id == sku_id).values(stock=-1))
    finally:
        await engine.dispose()
