"""Periodic lifespan tasks (outbox relay, reconciler) that survive their own errors."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def every(seconds: float, name: str, work: Callable[[], Awaitable[object]]) -> None:
    """Run `work` every `seconds` until cancelled; an error is logged and the loop goes on."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background_task_failed", task=name)
        await asyncio.sleep(seconds)


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
