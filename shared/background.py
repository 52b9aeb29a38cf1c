"""Periodic lifespan tasks (expiry sweepers, outbox relay, reconciler) that survive their errors.

`start_periodic` in the lifespan's start-up, `stop_tasks` in its shutdown: every task is
cancelled and awaited, so nothing is left running against closed pools. With tracing on, a
round runs with instrumentation suppressed; work that continues a request's trace (the outbox
relay) says so with `shared.tracing.continued_from`.
"""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from shared.tracing import untraced

log = structlog.get_logger(__name__)

Work = Callable[[], Awaitable[object]]


def start_periodic(name: str, seconds: float, work: Work) -> asyncio.Task:
    """A task named `name` that awaits `work()` now and then every `seconds` until cancelled."""
    return asyncio.create_task(_every(name, seconds, work), name=name)


async def _every(name: str, seconds: float, work: Work) -> None:
    while True:
        try:
            with untraced():  # an idle poll makes no trace; see shared/tracing.py
                await work()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bad round (database restarting, ...) must not end the loop
            log.exception("background_task_failed", task=name)
        await asyncio.sleep(seconds)


async def stop_tasks(tasks: list[asyncio.Task]) -> None:
    """Cancel the tasks and wait until each has ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
