"""One running stack per test module; each test brings it back to full health and no faults."""

import pytest

from tests.support.servers import fresh_redis_url
from tests.support.stack import Stack, StackOptions


async def start_stack(pg_databases, tmp_path_factory, options: StackOptions | None = None):
    redis_url = await fresh_redis_url()
    return await Stack.create(pg_databases, redis_url, tmp_path_factory.mktemp("stack"), options)


@pytest.fixture(scope="module")
async def stack(pg_databases, tmp_path_factory):
    # the lost-notify check runs often here so that a test can wait for it
    options = StackOptions(reconcile_after_seconds=2, reconcile_interval_seconds=0.5)
    running = await start_stack(pg_databases, tmp_path_factory, options)
    yield running
    await running.close()


@pytest.fixture
async def live(stack):
    """The module's stack with every process up and no emulator faults left from a test before."""
    await stack.ensure_running()
    await stack.clear_faults()
    yield stack
    if stack.is_running("sandbox"):
        await stack.clear_faults()
