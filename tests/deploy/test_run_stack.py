"""The quick start (`make run` → scripts/run_stack.py) as a newcomer uses it: one command brings up
the three services with a catalog, Ctrl-C stops all of them, a second start keeps what the first
one made, and set database/Redis URLs are used instead of the embedded defaults."""

import json
import signal
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as redis

from tests.browser.quick_stack import QuickStack
from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e

DEMO_CATALOG = json.loads((ROOT / "scripts" / "demo-catalog.json").read_text())


def buy_with_cash(stack: QuickStack, sku_id, count: int) -> tuple[str, dict]:
    """Register, add an address and place a cash order over the public API; (token, order)."""
    with httpx.Client(base_url=stack.url("order"), timeout=10) as client:
        client.post("/api/auth/register", json={"username": "newcomer", "password": "pass-word-1"})
        token = client.post(
            "/api/auth/token", data={"username": "newcomer", "password": "pass-word-1"}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        address = client.post(
            "/api/addresses",
            headers=headers,
            json={
                "receiver": "Han Meimei",
                "mobile": "13900139000",
                "province": "Beijing",
                "city": "Beijing",
                "district": "Haidian",
                "place": "5 Zhongguancun Street",
            },
        )
        assert address.status_code == 201, address.text
        order = client.post(
            "/api/orders",
            headers=headers,
            json={
                "address_id": address.json()["id"],
                "pay_method": "cash",
                "items": [{"sku_id": sku_id, "count": count}],
            },
        )
        assert order.status_code == 201, order.text
        return token["access_token"], order.json()


def put_in_cart(stack: QuickStack, token: str, sku_id) -> None:
    response = httpx.put(
        f"{stack.url('order')}/api/cart/items/{sku_id}",
        timeout=5,
        headers={"Authorization": f"Bearer {token}"},
        json={"count": 1},
    )
    assert response.status_code == 200, response.text


def sku(stack: QuickStack, sku_id) -> dict:
    return httpx.get(f"{stack.url('order')}/api/skus/{sku_id}", timeout=5).json()


def test_one_command_starts_everything_and_ctrl_c_stops_it(tmp_path: Path):
    stack = QuickStack(tmp_path / "var", "quick-start").start()
    try:
        assert all(stack.healthy(name) for name in ("order", "payment", "sandbox"))
        assert f"Storefront: {stack.storefront}" in stack.output()
        page = httpx.get(stack.storefront, timeout=5)
        assert page.status_code == 200 and 'src="js/app.js"' in page.text
        catalog = httpx.get(f"{stack.url('order')}/api/skus?offset=0&limit=100", timeout=5).json()
        assert catalog["total"] == len(DEMO_CATALOG)
        assert {item["name"] for item in catalog["items"]} == {i["name"] for i in DEMO_CATALOG}
        for pair in ("app", "sandbox"):
            assert (tmp_path / "var" / "keys" / pair / "app_private_key.pem").exists()
        first = DEMO_CATALOG[0]
        token, order = buy_with_cash(stack, first["id"], 3)
        assert order["status"] == "unsent"
        assert sku(stack, first["id"])["stock"] == first["stock"] - 3
        app_key = tmp_path / "var" / "keys" / "app" / "app_private_key.pem"
        key_before = app_key.read_bytes()
    finally:
        code = stack.stop(signal.SIGINT)
    assert code == 0, stack.tail()
    assert "[run_stack] stopped" in stack.output()
    assert not any(stack.healthy(name) for name in ("order", "payment", "sandbox"))

    # A second start keeps the database, the keys and the secrets: the stock is not reloaded
    # and the token from the first run still works.
    again = QuickStack(tmp_path / "var", "quick-start-again").start()
    try:
        assert sku(again, first["id"])["stock"] == first["stock"] - 3
        orders = httpx.get(
            f"{again.url('order')}/api/orders",
            timeout=5,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert orders.status_code == 200
        assert [o["order_id"] for o in orders.json()["items"]] == [order["order_id"]]
        assert app_key.read_bytes() == key_before
    finally:
        assert again.stop(signal.SIGTERM) == 0, again.tail()


async def test_set_database_and_redis_urls_are_used(tmp_path: Path, pg_databases, redis_url):
    order_db = await pg_databases.create("quick_order")
    payment_db = await pg_databases.create("quick_payment")
    stack = QuickStack(
        tmp_path / "var",
        "quick-start-pg",
        extra_env={
            "ORDER_DATABASE_URL": order_db,
            "PAYMENT_DATABASE_URL": payment_db,
            "ORDER_REDIS_URL": redis_url,
        },
    ).start()
    try:
        first = DEMO_CATALOG[0]
        token, _ = buy_with_cash(stack, first["id"], 2)
        put_in_cart(stack, token, DEMO_CATALOG[1]["id"])
    finally:
        assert stack.stop() == 0, stack.tail()
    assert not list((tmp_path / "var").glob("*.db")), "SQLite files were made despite the URLs"
    client = redis.from_url(redis_url)
    try:
        assert await client.dbsize() > 0, "the cart did not land in the given Redis"
    finally:
        await client.aclose()

    connection = await asyncpg.connect(order_db.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await connection.fetchval("SELECT count(*) FROM skus") == len(DEMO_CATALOG)
        assert (
            await connection.fetchval("SELECT stock FROM skus WHERE id = $1", first["id"])
            == first["stock"] - 2
        )
    finally:
        await connection.close()
    connection = await asyncpg.connect(payment_db.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        assert "payments" in {row["tablename"] for row in tables}
    finally:
        await connection.close()
