"""Fixed-window counters for rate limits: in Redis (every replica counts together), or in process
for `memory://` (the one-process quick start).

`hit(key, window)` counts one event and returns how many the key has in its current window and
the seconds until that window ends; `take_back(key)` uncounts one (an attempt that turned out
well), never below zero and never opening a window. A window starts
with the first event of a key and lasts `window` seconds (Redis: INCR, then EXPIRE … NX, in one
transaction), so a client over its limit is refused until the window is over — the Retry-After
it is given.
"""

import math
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from shared.errors import Problem
from shared.redis import connect_redis


@dataclass(frozen=True)
class Count:
    events: int
    retry_after: int  # whole seconds until the window ends (at least 1)


class RateCounter(Protocol):
    async def hit(self, key: str, window: int) -> Count: ...
    async def take_back(self, key: str) -> None: ...
    async def close(self) -> None: ...


def too_many_requests(count: Count, detail: str) -> Problem:
    """The contract's 429: `too_many_requests` with Retry-After."""
    return Problem(
        429,
        "too_many_requests",
        detail,
        headers={"Retry-After": str(count.retry_after)},
    )


class RedisRateCounter:
    def __init__(self, client: aioredis.Redis, prefix: str = "ratelimit:"):
        self.redis = client
        self.prefix = prefix

    async def hit(self, key: str, window: int) -> Count:
        name = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window, nx=True)
            pipe.pttl(name)
            events, _, ttl_ms = await pipe.execute()
        return Count(int(events), _seconds(ttl_ms, window))

    async def take_back(self, key: str) -> None:
        await self.redis.eval(_TAKE_BACK, 1, self.prefix + key)

    async def close(self) -> None:
        await self.redis.aclose()


_TAKE_BACK = """
if (tonumber(redis.call('get', KEYS[1]) or '0')) > 0 then return redis.call('decr', KEYS[1]) end
return 0
"""


def _seconds(ttl_ms: int, default: int) -> int:
    return max(1, math.ceil(ttl_ms / 1000)) if ttl_ms and ttl_ms > 0 else max(1, default)


class MemoryRateCounter:
    """One process only; forgets windows that ended, and everything when over `capacity` keys."""

    def __init__(self, capacity: int = 100_000):
        self.capacity = capacity
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (events, ends at)

    def _current(self, key: str, now: float) -> tuple[int, float] | None:
        window = self._windows.get(key)
        if window is not None and window[1] <= now:
            del self._windows[key]
            return None
        return window

    async def hit(self, key: str, window: int) -> Count:
        now = time.monotonic()
        current = self._current(key, now)
        if current is None:
            if len(self._windows) >= self.capacity:
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                if len(self._windows) >= self.capacity:
                    self._windows.clear()
            current = (0, now + window)
        events, ends = current[0] + 1, current[1]
        self._windows[key] = (events, ends)
        return Count(events, max(1, math.ceil(ends - now)))

    async def take_back(self, key: str) -> None:
        current = self._current(key, time.monotonic())
        if current is not None and current[0] > 0:
            self._windows[key] = (current[0] - 1, current[1])

    async def close(self) -> None:
        return None


def open_rate_counter(url: str, timeout_seconds: float, key_prefix: str = "") -> RateCounter:
    if url.startswith("memory://"):
        return MemoryRateCounter()
    return RedisRateCounter(connect_redis(url, timeout_seconds), key_prefix + "ratelimit:")
