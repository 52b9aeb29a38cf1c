import pytest

from tests.support.servers import PostgresDatabases, fresh_redis_url, stop_throwaway_servers


@pytest.fixture(scope="session", autouse=True)
def throwaway_servers():
    """Stops, at the end of the session, the servers the tests started for themselves (the
    Redis every run starts on first use, the PostgreSQL cluster with TEST_PG=throwaway)."""
    yield
    stop_throwaway_servers()


@pytest.fixture(scope="session")
async def pg_databases(throwaway_servers):
    """`await pg_databases.create("order")` gives the URL of a new, empty PostgreSQL database."""
    databases = PostgresDatabases()
    yield databases
    await databases.drop_all()


@pytest.fixture
async def redis_url():
    """An empty logical database of the session's own redis-server, for this test alone."""
    return await fresh_redis_url()
