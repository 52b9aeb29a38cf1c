"""A Redis client whose every wait is bounded: connect, each command, and no silent retries.

redis-py's defaults wait without bound for a command and retry a failed one three times, so a
Redis that stops answering held a request for as long as the network let it. Here a command
waits at most `timeout_seconds` (connect included), is tried once more on a fresh connection
after a broken one (a restart of Redis should not cost a request), and then raises: redis'
ConnectionError or TimeoutError, which `shared.errors` answers with 503
`dependency_unavailable`.
"""

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def connect_redis(url: str, timeout_seconds: float, **kwargs) -> aioredis.Redis:
    return aioredis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1),
        **kwargs,
    )
