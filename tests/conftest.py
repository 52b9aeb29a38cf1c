import pytest

from tests.support.servers import PostgresDatabases, fresh_redis_url


@pytest.fixture(scope="session")
async def pg_databases():
    """`await pg_databases.create("order")` gives the URL of a new, empty PostgreSQL database."""
    databases = PostgresDatabases()
    yield databases
    await databases.drop_all()


@pytest.fixture
async def redis_url():
    return await fresh_redis_url()
