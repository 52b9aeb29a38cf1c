"""argon2 hashing and verifying in a small executor of its own.

argon2 is meant to be slow (about 0.1–0.3 s of one core a hash). In the shared thread pool a
log-in flood took every thread and most of the CPU, and every other route slowed to a crawl;
here at most `workers` hashes run at once (by default one, leaving the other cores to the event
loop), and at most `queue` wait for their turn: past that a log-in or registration answers 429
`too_many_requests` at once instead of queueing without bound.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from shared.errors import Problem

_hasher = PasswordHasher()


class PasswordHashing:
    def __init__(self, workers: int = 1, queue: int = 64):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._slots = asyncio.Semaphore(workers + queue)

    async def _run(self, function, *args):
        if self._slots.locked():
            raise Problem(
                429,
                "too_many_requests",
                "Too many log-ins and registrations right now; try again shortly.",
                headers={"Retry-After": "1"},
            )
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *args)

    async def hash(self, password: str) -> str:
        return await self._run(_hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(_verify, password_hash, password)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


# Verified against when the username is unknown, so both failures take the same time.
DUMMY_HASH = _hasher.hash("not-a-real-password")
