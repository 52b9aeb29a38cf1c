"""`GET /healthz` (the process is up) and `GET /readyz` (everything it depends on answers).

Each service names its readiness checks: async functions of the request that return True when
their resource answers. A check that returns False or raises makes /readyz a 503 problem
(code `not_ready`) listing every check's result.
"""

from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.errors import problem_response

log = structlog.get_logger(__name__)

ReadinessCheck = Callable[[Request], Awaitable[bool]]


def health_router(checks: dict[str, ReadinessCheck] | None = None) -> APIRouter:
    router = APIRouter(tags=["health"])
    checks = checks or {}

    @router.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request):
        results = {name: await _answers(name, check, request) for name, check in checks.items()}
        if not all(results.values()):
            failing = ", ".join(name for name, ok in results.items() if not ok)
            return problem_response(503, "not_ready", f"Not answering: {failing}.", checks=results)
        return {"status": "ready", "checks": results}

    return router


async def database_answers(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return True


async def _answers(name: str, check: ReadinessCheck, request: Request) -> bool:
    try:
        return bool(await check(request))
    except Exception as exc:  # any failure means "not ready"; the log says why
        log.warning("readiness_check_failed", check=name, error=repr(exc))
        return False
