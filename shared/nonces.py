"""Where InternalAuthMiddleware remembers the nonces of the signed internal requests it accepted
(issue 10, item 12), shared by every process of a service so that a replay is refused whichever
worker or replica it reaches.

`first_use(nonce)` remembers the nonce and says whether it was new, in one atomic step; a nonce
is remembered for NONCE_SECONDS, twice the signature's window (a timestamp may be up to a window
old or a window ahead), after which its request is stale anyway. The order service keeps them in
its Redis, beside its rate counters (`nonce_store_beside`); the payment service, which has no
Redis, in its database (`payment_service/storage/nonces.py`). A store that does not answer raises
what `shared.errors.is_dependency_failure` recognises, and the middleware answers 503.
"""

import time
from collections import OrderedDict
from typing import Protocol

import redis.asyncio as aioredis

from shared.ratelimit import RateCounter, RedisRateCounter
from shared.service_auth import MAX_SKEW_SECONDS

NONCE_SECONDS = 2 * MAX_SKEW_SECONDS


class NonceStore(Protocol):
    async def first_use(self, nonce: str) -> bool: ...


class RedisNonceStore:
    """`SET <prefix><nonce> 1 NX EX NONCE_SECONDS`: one round trip, atomic across processes."""

    def __init__(self, client: aioredis.Redis, prefix: str):
        self.redis = client
        self.prefix = prefix

    async def first_use(self, nonce: str) -> bool:
        return bool(await self.redis.set(self.prefix + nonce, 1, nx=True, ex=NONCE_SECONDS))


class MemoryNonceStore:
    """One process only: the quick start (ORDER_REDIS_URL=memory://, one process)."""

    def __init__(self, seconds: float = NONCE_SECONDS):
        self.seconds = seconds
        self.seen: OrderedDict[str, float] = OrderedDict()  # nonce -> when it may be forgotten

    async def first_use(self, nonce: str) -> bool:
        return self.first_use_at(nonce, time.monotonic())

    def first_use_at(self, nonce: str, now: float) -> bool:
        while self.seen and next(iter(self.seen.values())) <= now:
            self.seen.popitem(last=False)
        if nonce in self.seen:
            return False
        self.seen[nonce] = now + self.seconds
        return True


def nonce_store_beside(counter: RateCounter, key_prefix: str) -> NonceStore:
    """The nonces where the rate counter counts: in its Redis (its client and connection pool,
    keys `<ORDER_REDIS_KEY_PREFIX>nonce:<nonce>`), or in process when it counts in process."""
    if isinstance(counter, RedisRateCounter):
        return RedisNonceStore(counter.redis, key_prefix + "nonce:")
    return MemoryNonceStore()
