"""A service started on a database that was never migrated says so on /readyz (503
`schema_not_migrated`, naming the command to run) instead of answering "ready" and then 500 on
every call; once the database is migrated the same process is ready."""

import asyncio
import secrets

import httpx
import pytest

from tests.support.keys import write_key_pair
from tests.support.processes import ServiceProcess, run_module

pytestmark = pytest.mark.e2e


async def _service_env(pg_databases, tmp_path) -> dict[str, str]:
    app, alipay = write_key_pair(tmp_path, "app"), write_key_pair(tmp_path, "alipay")
    return {
        "APP_ENV": "test",
        "SERVICE_AUTH_SECRET": secrets.token_urlsafe(32),
        "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
        "ORDER_DATABASE_URL": await pg_databases.create("unmigrated_order"),
        "ORDER_REDIS_URL": "memory://",
        "PAYMENT_DATABASE_URL": await pg_databases.create("unmigrated_payment"),
        "ALIPAY_APP_ID": "2021000000000001",
        "ALIPAY_APP_PRIVATE_KEY": str(app.private_path),
        "ALIPAY_PUBLIC_KEY": str(alipay.public_path),
    }


@pytest.mark.parametrize(
    "package, app, a_call",
    [
        ("order_service", "order_service.main:app", "/api/skus"),
        ("payment_service", "payment_service.main:app", None),
    ],
)
async def test_readyz_answers_schema_not_migrated_until_the_database_is_migrated(
    pg_databases, tmp_path, package, app, a_call
):
    env = await _service_env(pg_databases, tmp_path)
    service = ServiceProcess(app, env, f"unmigrated-{package}")
    await asyncio.to_thread(service.start)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.headers["content-type"] == "application/problem+json"
            problem = ready.json()
            assert problem["code"] == "schema_not_migrated"
            assert f"python -m {package} migrate" in problem["detail"]
            assert problem["checks"]["database"] is False
            if a_call:  # what the readiness check spares a balancer from sending traffic to
                assert (await http.get(a_call)).status_code >= 500

            await asyncio.to_thread(run_module, package, "migrate", env=env)
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["database"] is True
            if a_call:
                assert (await http.get(a_call)).status_code == 200
    finally:
        await asyncio.to_thread(service.stop)


async def test_a_database_that_does_not_answer_is_not_ready_rather_than_unmigrated(tmp_path):
    env = {
        "APP_ENV": "development",
        "ORDER_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none",
        "ORDER_REDIS_URL": "memory://",
    }
    service = ServiceProcess("order_service.main:app", env, "unreachable-order")
    await asyncio.to_thread(service.start)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            ready = await http.get("/readyz")
    finally:
        await asyncio.to_thread(service.stop)
    assert ready.status_code == 503
    assert ready.json()["code"] == "not_ready"
