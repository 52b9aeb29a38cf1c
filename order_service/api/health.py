from fastapi import APIRouter, Request
from sqlalchemy import text

from order_service.api.deps import CartDep, SessionsDep
from shared.errors import problem_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, sessions: SessionsDep, cart: CartDep):
    checks = {"database": await _database_answers(sessions), "redis": await cart.ping()}
    if not all(checks.values()):
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem_response(503, "not_ready", f"Not answering: {failing}.", checks=checks)
    return {"status": "ready", "checks": checks}


async def _database_answers(sessions) -> bool:
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not ready"; the reason is in the database's logs
        return False
