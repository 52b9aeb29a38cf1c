"""The cart: per user a hash `sku_id -> count` and a set of selected sku ids.

Redis in production (the original design's keys, after ORDER_REDIS_KEY_PREFIX), or `memory://`,
an in-process store with the same interface for the quick start and a single process. Every
change of a cart sets both its keys to expire after ORDER_CART_IDLE_DAYS (issue 10, item 13).
"""

from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from shared.redis import connect_redis


@dataclass(frozen=True)
class CartContents:
    counts: dict[int, int]
    selected: frozenset[int]

    def selected_counts(self) -> dict[int, int]:
        return {sku: count for sku, count in sorted(self.counts.items()) if sku in self.selected}


class CartStore(Protocol):
    async def contents(self, user_id: int) -> CartContents: ...
    async def put(self, user_id: int, sku_id: int, count: int, selected: bool) -> None: ...
    async def remove(self, user_id: int, sku_ids: list[int]) -> None: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class RedisCartStore:
    def __init__(
        self,
        url: str,
        timeout_seconds: float = 2.0,
        prefix: str = "",
        idle_seconds: int = 0,
    ):
        self.redis = connect_redis(url, timeout_seconds, decode_responses=True)
        self.prefix = prefix
        self.idle_seconds = idle_seconds  # 0: a cart never expires

    def _counts_key(self, user_id: int) -> str:
        return f"{self.prefix}cart_{user_id}"

    def _selected_key(self, user_id: int) -> str:
        return f"{self.prefix}cart_selected_{user_id}"

    def _touch(self, pipe, user_id: int) -> None:
        if self.idle_seconds:
            pipe.expire(self._counts_key(user_id), self.idle_seconds)
            pipe.expire(self._selected_key(user_id), self.idle_seconds)

    async def contents(self, user_id: int) -> CartContents:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._counts_key(user_id))
            pipe.smembers(self._selected_key(user_id))
            counts, selected = await pipe.execute()
        return CartContents(
            counts={int(sku): int(count) for sku, count in counts.items()},
            selected=frozenset(int(sku) for sku in selected),
        )

    async def put(self, user_id: int, sku_id: int, count: int, selected: bool) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._counts_key(user_id), str(sku_id), count)
            if selected:
                pipe.sadd(self._selected_key(user_id), str(sku_id))
            else:
                pipe.srem(self._selected_key(user_id), str(sku_id))
            self._touch(pipe, user_id)
            await pipe.execute()

    async def remove(self, user_id: int, sku_ids: list[int]) -> None:
        if not sku_ids:
            return
        names = [str(sku) for sku in sku_ids]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._counts_key(user_id), *names)
            pipe.srem(self._selected_key(user_id), *names)
            self._touch(pipe, user_id)
            await pipe.execute()

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (aioredis.RedisError, OSError):
            return False

    async def close(self) -> None:
        await self.redis.aclose()


class MemoryCartStore:
    """Lives in one process and dies with it: for the quick start only."""

    def __init__(self):
        self.counts: dict[int, dict[int, int]] = {}
        self.selected: dict[int, set[int]] = {}

    async def contents(self, user_id: int) -> CartContents:
        return CartContents(
            counts=dict(self.counts.get(user_id, {})),
            selected=frozenset(self.selected.get(user_id, set())),
        )

    async def put(self, user_id: int, sku_id: int, count: int, selected: bool) -> None:
        self.counts.setdefault(user_id, {})[sku_id] = count
        chosen = self.selected.setdefault(user_id, set())
        if selected:
            chosen.add(sku_id)
        else:
            chosen.discard(sku_id)

    async def remove(self, user_id: int, sku_ids: list[int]) -> None:
        for sku_id in sku_ids:
            self.counts.get(user_id, {}).pop(sku_id, None)
            self.selected.get(user_id, set()).discard(sku_id)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


def open_cart_store(
    url: str, timeout_seconds: float = 2.0, prefix: str = "", idle_seconds: int = 0
) -> CartStore:
    if url.startswith("memory://"):
        return MemoryCartStore()
    return RedisCartStore(url, timeout_seconds, prefix, idle_seconds)
