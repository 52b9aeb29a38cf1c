"""Real PostgreSQL and Redis for the tests: a fresh database per use, loud failure when absent.

A test never skips because a server is missing: `make test` starts both servers, and a test
run without them fails with a sentence saying which one and how to start it.
"""

import os
import random
import uuid

import asyncpg
import pytest
import redis.asyncio as aioredis

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
        )
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} ({exc}). "
            "Run the tests with `make test`, which starts it, or start it yourself.",
            pytrace=False,
        )


class PostgresDatabases:
    """Creates uniquely named databases and drops them all at the end of the session."""

    def __init__(self):
        self.names: list[str] = []

    async def create(self, prefix: str) -> str:
        name = f"t_{prefix}_{uuid.uuid4().hex[:10]}"
        conn = await _admin_connection()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.names.append(name)
        return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"

    async def drop_all(self) -> None:
        if not self.names:
            return
        conn = await _admin_connection()
        try:
            for name in self.names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def fresh_redis_url() -> str:
    """A Redis URL on a randomly chosen logical database, emptied first."""
    db = random.randint(1, 15)
    url = f"{REDIS_BASE}/{db}"
    client = aioredis.from_url(url)
    try:
        await client.flushdb()
    except (OSError, aioredis.ConnectionError) as exc:
        pytest.fail(
            f"Redis is not reachable at {REDIS_BASE} ({exc}). "
            "Run the tests with `make test`, which starts it, or start it yourself.",
            pytrace=False,
        )
    finally:
        await client.aclose()
    return url
