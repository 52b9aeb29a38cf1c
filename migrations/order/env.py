"""Alembic environment of the order database: async engine, URL from OrderSettings.

`python -m order_service migrate` passes the URL in `config.attributes["database_url"]`;
plain `alembic --name order upgrade head` reads it from the environment (ORDER_DATABASE_URL).
"""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from order_service.settings import OrderSettings
from order_service.storage.database import open_engine
from order_service.storage.tables import metadata

config = context.config
target_metadata = metadata


def _database_url() -> str:
    return config.attributes.get("database_url") or OrderSettings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = open_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
