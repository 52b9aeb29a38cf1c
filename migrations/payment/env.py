"""Alembic environment of the payment database; the URL comes from PaymentSettings."""

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import AsyncEngine

from payment_service.storage.tables import metadata
from shared.db import create_engine


def _url() -> str:
    url = context.config.attributes.get("database_url")
    if url:
        return url
    from payment_service.settings import PaymentSettings

    return PaymentSettings().database_url


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine: AsyncEngine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
