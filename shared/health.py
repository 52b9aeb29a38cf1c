"""`GET /healthz` (the process is up) and `GET /readyz` (everything it depends on answers).

Each service names its readiness checks: async functions of the request that return True when
their resource answers, each bounded by CHECK_TIMEOUT_SECONDS. A check that returns False,
raises or runs out of time makes /readyz a 503 problem
(code `not_ready`) listing every check's result. A database that answers but was never migrated
(or not to this code's head) would fail every call with a 500: its check raises
`SchemaNotMigrated`, and when that is all that is wrong /readyz answers 503
`schema_not_migrated`, its detail naming the `migrate` command to run.
"""

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.errors import problem_response, problems
from shared.migrations import is_at_head, migrate_command

log = structlog.get_logger(__name__)

ReadinessCheck = Callable[[Request], Awaitable[bool]]

# Every check runs at once, each given this long: /readyz answers within it (the contract: 503
# within 5 s when a dependency does not answer), whatever the dependency does.
CHECK_TIMEOUT_SECONDS = 3.0


class SchemaNotMigrated(Exception):
    """The database answers, but its schema is not at the head of this code's migrations."""

    def __init__(self, section: str):
        self.command = migrate_command(section)
        super().__init__(
            f"The {section} database is not migrated to this version's schema: "
            f"run `{self.command}`."
        )


def health_router(checks: dict[str, ReadinessCheck] | None = None) -> APIRouter:
    router = APIRouter(tags=["health"])
    checks = checks or {}

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Everything the service depends on answers: a balancer's health check",
        responses=problems(
            {
                503: "`not_ready`: a dependency does not answer (`checks` says which); "
                "`schema_not_migrated`: the database is not migrated to this version.",
            }
        ),
    )
    async def readyz(request: Request):
        results, unmigrated = {}, []

        async def run(name: str, check: ReadinessCheck) -> None:
            try:
                async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                    results[name] = bool(await check(request))
            except SchemaNotMigrated as exc:
                results[name] = False
                unmigrated.append(str(exc))
            except Exception as exc:  # any failure means "not ready"; the log says why
                log.warning("readiness_check_failed", check=name, error=repr(exc))
                results[name] = False

        await asyncio.gather(*(run(name, check) for name, check in checks.items()))
        results = {name: results[name] for name in checks}
        failing = [name for name, ok in results.items() if not ok]
        if unmigrated and len(unmigrated) == len(failing):
            detail = " ".join(unmigrated)
            return problem_response(503, "schema_not_migrated", detail, checks=results)
        if failing:
            detail = f"Not answering: {', '.join(failing)}."
            return problem_response(503, "not_ready", detail, checks=results)
        return {"status": "ready", "checks": results}

    return router


async def database_answers(engine: AsyncEngine, migrations: str | None = None) -> bool:
    """The database answers; with `migrations` (an alembic.ini section: "order", "payment") it
    must also be at that head, else `SchemaNotMigrated`."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        if migrations and not await is_at_head(connection, migrations):
            raise SchemaNotMigrated(migrations)
    return True
