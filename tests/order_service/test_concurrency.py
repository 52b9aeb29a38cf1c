"""Races forced, not hoped for: every buyer is held at a barrier just before the conditional
stock update, so all of them read the same stock and then update at once.

Buyers behave like real clients: on 409 `stock_contention` (the bounded retries inside the
service ran out) they try again. After each run, per SKU, stock + units in orders == initial.
"""

import asyncio
import json
import random

import httpx
from sqlalchemy import func, select, update

from order_service.storage.tables import orders, skus
from shared.db import create_engine, session_factory
from tests.order_service.conftest import (
    Shop,
    assert_conserved,
    migrated_database,
    order_env,
    order_settings,
    run_module,
)
from tests.support.processes import ServiceProcess

CLIENT_RETRIES = 40


async def buy_until_settled(shop, buyer, items, client=None) -> httpx.Response:
    """POST the order, retrying on stock_contention as a client would; the final answer."""
    for _ in range(CLIENT_RETRIES):
        response = await shop.order(buyer, items, client=client)
        if response.status_code != 409 or response.json()["code"] != "stock_contention":
            return response
        await asyncio.sleep(random.uniform(0.01, 0.05))
    raise AssertionError("still stock_contention after all client retries")


class BarrierHook:
    """Holds the first attempt of every buyer until all have read the stock."""

    def __init__(self, parties: int):
        self.barrier = asyncio.Barrier(parties)
        self.attempts: list[int] = []

    async def __call__(self, attempt: int) -> None:
        self.attempts.append(attempt)
        if attempt == 1 and not self.barrier.broken:
            async with asyncio.timeout(60):
                await self.barrier.wait()

    def release(self) -> None:
        """Once the first wave has passed, later client retries must not wait for a full barrier."""
        self.barrier = asyncio.Barrier(1)


async def test_fifty_buyers_race_for_twenty_units(make_shop):
    shop = await make_shop(db_pool_size=60)
    (sku,) = await shop.add_skus(20)
    buyers = [await shop.buyer() for _ in range(50)]
    hook = BarrierHook(50)
    shop.hooks.before_stock_update = hook

    async def first_wave(buyer):
        response = await shop.order(buyer, [(sku, 1)])
        return buyer, response

    wave = await asyncio.gather(*(first_wave(b) for b in buyers))
    hook.release()
    finals = []
    for buyer, response in wave:
        if response.status_code == 409 and response.json()["code"] == "stock_contention":
            response = await buy_until_settled(shop, buyer, [(sku, 1)])
        finals.append(response)

    assert max(hook.attempts) > 1, "the race was not forced: no buyer ever had to retry"
    codes = sorted(r.status_code for r in finals)
    assert codes.count(201) == 20 and codes.count(409) == 30
    assert all(r.json()["code"] == "insufficient_stock" for r in finals if r.status_code == 409)
    assert all(r.json()["sku_id"] == sku for r in finals if r.status_code == 409)
    assert await shop.stock(sku) == {
        "stock": 0,
        "sales": 20,
        "goods_id": (await shop.stock(sku))["goods_id"],
    }
    await shop.assert_conserved({sku: 20})


async def test_overlapping_sku_sets_in_different_orders_do_not_deadlock(make_shop):
    shop = await make_shop(db_pool_size=60)
    skus = await shop.add_skus(1000, 1000, 1000, 1000, 1000)
    buyers = [await shop.buyer() for _ in range(40)]
    hook = BarrierHook(40)
    shop.hooks.before_stock_update = hook
    rng = random.Random(7)
    baskets = []
    for _ in buyers:
        chosen = rng.sample(skus, rng.randint(2, 5))  # listed in a random order on purpose
        baskets.append([(sku_id, rng.randint(1, 3)) for sku_id in chosen])

    wave = await asyncio.gather(
        *(shop.order(b, items) for b, items in zip(buyers, baskets, strict=True))
    )
    hook.release()
    finals = []
    for buyer, items, response in zip(buyers, baskets, wave, strict=True):
        if response.status_code == 409 and response.json()["code"] == "stock_contention":
            response = await buy_until_settled(shop, buyer, items)
        finals.append(response)

    assert [r.status_code for r in finals] == [201] * 40, [
        r.text for r in finals if r.status_code != 201
    ]
    assert max(hook.attempts) > 1
    await shop.assert_conserved({sku_id: 1000 for sku_id in skus})
    for sku_id in skus:
        ordered = sum(c for items in baskets for s, c in items if s == sku_id)
        assert (await shop.stock(sku_id))["stock"] == 1000 - ordered


async def test_race_against_two_order_service_processes(pg_databases, redis_url, tmp_path):
    """Two uvicorn processes on one database: the guard is in the database, not in a process."""
    settings = order_settings(await migrated_database(pg_databases), redis_url)
    env = order_env(settings)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps([{"id": 7, "name": "the last units", "price": "99.00", "stock": 20}])
    )
    await asyncio.to_thread(run_module, "order_service", "load-catalog", str(catalog), env=env)
    processes = [ServiceProcess("order_service.main:app", env, f"order-race-{n}") for n in (1, 2)]
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes))
    engine = create_engine(settings.database_url)
    try:
        clients = [httpx.AsyncClient(base_url=p.url, timeout=60) for p in processes]

        sessions = session_factory(engine)
        shops = [Shop(None, client) for client in clients]  # the Shop steps, against a process
        assert (
            await shops[0].registered_buyer()
        ).user_id  # registration and login through a process too
        buyers = [await shops[n % 2].buyer(sessions=sessions) for n in range(50)]
        start = asyncio.Event()

        async def buyer_run(n, buyer):
            await start.wait()
            return await buy_until_settled(
                shops[n % 2], buyer, [(7, 1)], client=clients[(n + 1) % 2]
            )

        tasks = [asyncio.create_task(buyer_run(n, b)) for n, b in enumerate(buyers)]
        await asyncio.sleep(0.1)
        start.set()
        finals = await asyncio.gather(*tasks)
        codes = [r.status_code for r in finals]
        assert codes.count(201) == 20 and codes.count(409) == 30, codes
        served_by = {r.json()["order_id"] for r in finals if r.status_code == 201}
        assert len(served_by) == 20
        sku = (await clients[0].get("/api/skus/7")).json()
        assert (sku["stock"], sku["sales"]) == (0, 20)
        await assert_conserved(sessions, {7: 20})
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(orders)) == 20
        for client in clients:
            await client.aclose()
    finally:
        await engine.dispose()
        for process in processes:
            await asyncio.to_thread(process.stop)


async def test_a_buyer_who_always_loses_the_race_hears_stock_contention_and_nothing_is_written(
    make_shop,
):
    """Another buyer takes one unit just before each of our updates: we never win, and the
    bounded retries end in 409 stock_contention instead of looping for ever."""
    shop = await make_shop()
    (sku,) = await shop.add_skus(1000)
    buyer = await shop.buyer()
    attempts: list[int] = []

    async def someone_else_buys_first(attempt: int) -> None:
        attempts.append(attempt)
        async with shop.sessions() as session, session.begin():
            await session.execute(
                update(skus).where(skus.c.id == sku).values(stock=skus.c.stock - 1)
            )

    shop.hooks.before_stock_update = someone_else_buys_first
    response = await shop.order(buyer, [(sku, 2)])

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "stock_contention"
    assert len(attempts) > 1
    after = await shop.stock(sku)
    assert after["stock"] == 1000 - len(attempts)  # only the other buyer's units are gone
    assert after["sales"] == 0
    async with shop.sessions() as session:
        mine = await session.scalar(
            select(func.count()).select_from(orders).where(orders.c.user_id == buyer.user_id)
        )
    assert mine == 0
