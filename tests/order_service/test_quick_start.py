"""The quick start: SQLite and the in-process cart (`memory://`), as `make run` uses them,
with the CLI commands and a real uvicorn process. Also readiness and settings guards."""

import asyncio
import json
import signal

import httpx
import pytest
from pydantic import ValidationError

from order_service.settings import OrderSettings
from tests.order_service.conftest import ADDRESS, closed_port_url, run_module
from tests.order_service.test_api import assert_problem
from tests.support.processes import ServiceProcess, free_port


@pytest.fixture
async def quick_start(tmp_path):
    env = {
        "APP_ENV": "development",
        "ORDER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/var/order.db",
        "ORDER_REDIS_URL": "memory://",
        "ORDER_PAYMENT_SERVICE_URL": closed_port_url(),
        "ORDER_PAYMENT_TIMEOUT_SECONDS": "2",
    }
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            [
                {"name": "Fuji apple 1kg", "price": "12.50", "stock": 5, "goods": "Fuji apple"},
                {"name": "Fuji apple 5kg", "price": "55.00", "stock": 3, "goods": "Fuji apple"},
                {"id": 100, "name": "Grapes", "price": "8.80", "stock": 40},
            ]
        )
    )
    assert "migrated" in await asyncio.to_thread(run_module, "order_service", "migrate", env=env)
    loaded = await asyncio.to_thread(
        run_module, "order_service", "load-catalog", str(catalog), env=env
    )
    assert "3 created" in loaded
    process = ServiceProcess("order_service.main:app", env, "order-quick-start")
    await asyncio.to_thread(process.start)
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        yield client, env, catalog
    await asyncio.to_thread(process.stop)
    # SIGTERM ends the lifespan (sweeper cancelled, pools closed) well within stop()'s timeout;
    # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM, never SIGKILL's -9
    assert process.process.returncode in (0, -signal.SIGTERM), process.tail()


async def test_main_flow_on_sqlite_and_memory_cart(quick_start):
    client, env, catalog = quick_start
    assert (await client.get("/readyz")).status_code == 200
    assert (
        await client.post("/api/auth/register", json={"username": "quick", "password": "quick123"})
    ).status_code == 201
    token = (
        await client.post("/api/auth/token", data={"username": "quick", "password": "quick123"})
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    address_id = (await client.post("/api/addresses", json=ADDRESS, headers=headers)).json()["id"]

    skus = (await client.get("/api/skus")).json()
    assert skus["total"] == 3
    by_name = {s["name"]: s for s in skus["items"]}
    apple, grapes = by_name["Fuji apple 1kg"], by_name["Grapes"]
    assert grapes["id"] == 100 and apple["price"] == "12.50"

    await client.put(f"/api/cart/items/{apple['id']}", json={"count": 2}, headers=headers)
    await client.put("/api/cart/items/100", json={"count": 1, "selected": False}, headers=headers)
    order_body = {"address_id": address_id, "pay_method": "alipay"}
    placed = await client.post(
        "/api/orders", json=order_body, headers={**headers, "Idempotency-Key": "q1"}
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["total_amount"] == "35.00" and order["status"] == "unpaid"
    replay = await client.post(
        "/api/orders", json=order_body, headers={**headers, "Idempotency-Key": "q1"}
    )
    assert replay.json() == order
    cart = (await client.get("/api/cart", headers=headers)).json()["items"]
    assert [(i["sku_id"], i["selected"]) for i in cart] == [(100, False)]

    cash = await client.post(
        "/api/orders",
        json={**order_body, "pay_method": "cash", "items": [{"sku_id": apple["id"], "count": 4}]},
        headers=headers,
    )
    assert_problem(cash, 409, "insufficient_stock")
    burst = await asyncio.gather(
        *(
            client.post(
                "/api/orders",
                json={**order_body, "items": [{"sku_id": apple["id"], "count": 1}]},
                headers=headers,
            )
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in burst) == [201, 201, 201] + [409] * 3
    assert (await client.get(f"/api/skus/{apple['id']}")).json()["stock"] == 0
    orders = (await client.get("/api/orders", headers=headers)).json()["items"]
    assert len(orders) == 4 and orders[-1]["order_id"] == order["order_id"]
    link = await client.post(f"/api/orders/{order['order_id']}/payment", headers=headers)
    assert_problem(link, 503, "payment_unavailable")

    # the catalog file can be loaded again: existing skus are updated, not duplicated, and
    # their live stock (sold out by the orders above) is kept unless --set-stock says otherwise
    reloaded = await asyncio.to_thread(
        run_module, "order_service", "load-catalog", str(catalog), env=env
    )
    assert "0 created, 3 updated" in reloaded
    assert (await client.get(f"/api/skus/{apple['id']}")).json()["stock"] == 0
    await asyncio.to_thread(
        run_module, "order_service", "load-catalog", str(catalog), "--set-stock", env=env
    )
    assert (await client.get(f"/api/skus/{apple['id']}")).json()["stock"] == 5


async def test_storefront_is_served_after_the_api(quick_start):
    client, _, _ = quick_start
    page = await client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert (await client.get("/api/skus")).headers["content-type"] == "application/json"
    assert_problem(await client.get("/no/such/file.js"), 404, "not_found")


async def test_load_catalog_refuses_a_bad_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "float price", "price": 1.5, "stock": 1}]))
    env = {"ORDER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/o.db"}
    await asyncio.to_thread(run_module, "order_service", "migrate", env=env)
    with pytest.raises(AssertionError, match="load-catalog"):
        await asyncio.to_thread(run_module, "order_service", "load-catalog", str(bad), env=env)


async def test_readyz_is_503_when_redis_does_not_answer(make_shop):
    shop = await make_shop(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    ready = await shop.client.get("/readyz")
    problem = assert_problem(ready, 503, "not_ready")
    assert problem["checks"] == {"database": True, "redis": False}
    assert (await shop.client.get("/healthz")).status_code == 200


def test_placeholder_secrets_are_refused_outside_development():
    with pytest.raises(ValidationError, match="jwt_secret"):
        OrderSettings(APP_ENV="production", SERVICE_AUTH_SECRET="s" * 32)
    with pytest.raises(ValidationError, match="service_auth_secret"):
        OrderSettings(APP_ENV="test", jwt_secret="a real secret")
    with pytest.raises(ValidationError, match="jwt_secret.*32 bytes"):
        OrderSettings(APP_ENV="production", SERVICE_AUTH_SECRET="s" * 32, jwt_secret="short")
    ok = OrderSettings(
        APP_ENV="production", SERVICE_AUTH_SECRET="s" * 32, jwt_secret="j" * 32, freight="0"
    )
    assert str(ok.freight) == "0.00"


def test_freight_must_not_be_a_fraction_of_a_cent():
    with pytest.raises(ValidationError):
        OrderSettings(freight="10.001")


async def test_lifespan_stops_the_sweeper(pg_databases, redis_url):
    from tests.order_service.conftest import migrated_database, order_settings, running_shop

    settings = order_settings(
        await migrated_database(pg_databases), redis_url, sweep_interval_seconds=0.05
    )
    async with running_shop(settings):
        await asyncio.sleep(0.2)  # a few rounds
        running = [t for t in asyncio.all_tasks() if t.get_name() == "order-expiry-sweeper"]
        assert len(running) == 1 and not running[0].done()
    assert running[0].done()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "order-expiry-sweeper"]
