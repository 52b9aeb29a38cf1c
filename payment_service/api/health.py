from fastapi import Request

from shared.health import database_answers, health_router


async def _database(request: Request) -> bool:
    return await database_answers(request.app.state.runtime.engine, migrations="payment")


router = health_router({"database": _database})
