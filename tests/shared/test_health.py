import httpx
from fastapi import FastAPI

from shared.db import create_engine
from shared.health import database_answers, health_router


async def _client(checks) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(health_router(checks))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_ready_when_every_check_answers(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/health.db")

    async def database(request):
        return await database_answers(engine)

    async def redis(request):
        return True

    try:
        async with await _client({"database": database, "redis": redis}) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            ready = await client.get("/readyz")
    finally:
        await engine.dispose()
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": True, "redis": True}}


async def test_a_check_that_fails_or_raises_makes_readyz_a_503_problem():
    async def answers(request):
        return True

    async def says_no(request):
        return False

    async def raises(request):
        raise ConnectionRefusedError("down")

    async with await _client({"a": answers, "b": says_no, "c": raises}) as client:
        ready = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    problem = ready.json()
    assert problem["code"] == "not_ready" and problem["detail"] == "Not answering: b, c."
    assert problem["checks"] == {"a": True, "b": False, "c": False}
