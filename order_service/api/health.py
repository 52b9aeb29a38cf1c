from fastapi import Request

from shared.health import database_answers, health_router


async def _database(request: Request) -> bool:
    return await database_answers(request.app.state.engine, migrations="order")


async def _redis(request: Request) -> bool:
    return await request.app.state.cart.ping()


router = health_router({"database": _database, "redis": _redis})
