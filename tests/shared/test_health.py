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


async def test_a_check_that_never_answers_makes_readyz_a_503_within_the_bound():
    import asyncio
    import time

    from shared.health import CHECK_TIMEOUT_SECONDS

    async def hangs(request):
        await asyncio.Event().wait()

    async def also_hangs(request):
        await asyncio.sleep(3600)

    async with await _client({"a": hangs, "b": also_hangs}) as client:
        started = time.monotonic()
        ready = await client.get("/readyz")
        elapsed = time.monotonic() - started
    assert ready.status_code == 503 and ready.json()["checks"] == {"a": False, "b": False}
    # the checks run side by side, each bounded: the contract's 503 within 5 s
    assert CHECK_TIMEOUT_SECONDS < 5 and elapsed < 5, elapsed
