"""The payment database's migrations and the tables the code uses describe the same schema."""

import asyncio

from alembic import command

from shared.migrations import alembic_config
from tests.payment_service.conftest import migrate


def _check(url: str) -> None:
    # raises when autogenerate would find a difference
    command.check(alembic_config("payment", url))


async def test_migrated_schema_matches_the_tables(pg_databases):
    url = await pg_databases.create("payment_schema")
    await asyncio.to_thread(migrate, url)
    await asyncio.to_thread(_check, url)
