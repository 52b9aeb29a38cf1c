"""Races forced, not hoped for: every replica's checkout is held at a barrier just before the
conditional stock update, so all of them read the same stock and then update at once.

Buyers behave like real clients: on 409 `stock_contention` (the bounded retries inside the
service ran out) they try again. After each run, per SKU, stock + units in orders == initial.
"""

import asyncio
import json
import random
from dataclasses import replace
from unittest.mock import ANY

import httpx
from sqlalchemy import func, select, update

from order_service.domain.errors import DomainError, StockContention
from order_service.domain.states import PayMethod
from order_service.services.checkout import Checkout, CheckoutHooks, OrderRequest
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
    """Holds the first compare-and-set of every replica until all of them have read the stock."""

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


def replicas(shop: Shop, count: int, hook: BarrierHook) -> list[Checkout]:
    """`count` checkout queues on the shop's database, as `count` order-service replicas have.

    Within one process buyers queue and never race; replicas race at the row, so that is where
    the race is forced.
    """
    state = shop.app.state
    return [
        Checkout(
            state.engine,
            state.cart,
            freight=state.settings.freight,
            pay_timeout_seconds=state.settings.pay_timeout_seconds,
            hooks=CheckoutHooks(hook),
        )
        for _ in range(count)
    ]


async def place_until_settled(checkout: Checkout, buyer, items) -> str:
    """Place as a client would, trying again on stock_contention; "placed" or the error code."""
    request = OrderRequest(buyer.user_id, buyer.address_id, PayMethod.CASH, items)
    for _ in range(CLIENT_RETRIES):
        try:
            await checkout.place(request)
            return "placed"
        except StockContention:
            await asyncio.sleep(random.uniform(0.01, 0.05))
        except DomainError as error:
            return error.code
    raise AssertionError("still stock_contention after all client retries")


async def test_fifty_buyers_on_five_replicas_race_for_twenty_units(make_shop):
    shop = await make_shop(db_pool_size=20)
    (sku,) = await shop.add_skus(20)
    buyers = [await shop.buyer() for _ in range(50)]
    hook = BarrierHook(5)
    lanes = replicas(shop, 5, hook)

    answers = await asyncio.gather(
        *(place_until_settled(lanes[n % 5], b, [(sku, 1)]) for n, b in enumerate(buyers))
    )

    assert max(hook.attempts) > 1, "the race was not forced: no replica ever had to retry"
    assert sorted(answers) == ["insufficient_stock"] * 30 + ["placed"] * 20
    assert (await shop.stock(sku))["stock"] == 0
    assert (await shop.stock(sku))["sales"] == 20
    await shop.assert_conserved({sku: 20})


async def test_overlapping_sku_sets_on_racing_replicas_do_not_deadlock(make_shop):
    shop = await make_shop(db_pool_size=20)
    skus = await shop.add_skus(1000, 1000, 1000, 1000, 1000)
    buyers = [await shop.buyer() for _ in range(40)]
    hook = BarrierHook(4)
    lanes = replicas(shop, 4, hook)
    rng = random.Random(7)
    baskets = []
    for _ in buyers:
        chosen = rng.sample(skus, rng.randint(2, 5))  # listed in a random order on purpose
        baskets.append([(sku_id, rng.randint(1, 3)) for sku_id in chosen])

    answers = await asyncio.gather(
        *(
            place_until_settled(lanes[n % 4], b, items)
            for n, (b, items) in enumerate(zip(buyers, baskets, strict=True))
        )
    )

    assert answers == ["placed"] * 40
    assert max(hook.attempts) > 1
    await shop.assert_conserved({sku_id: 1000 for sku_id in skus})
    for sku_id in skus:
        ordered = sum(c for items in baskets for s, c in items if s == sku_id)
        assert (await shop.stock(sku_id))["stock"] == 1000 - ordered


async def test_one_batch_answers_each_order_on_its_own(make_shop):
    """Orders served in one transaction: a refused order fails alone, the rest are placed."""
    shop = await make_shop()
    few, plenty = await shop.add_skus(1, 100)
    buyers = [await shop.buyer() for _ in range(5)]
    hook = BarrierHook(1)
    (lane,) = replicas(shop, 1, hook)
    stranger = buyers[4]
    requests = [
        place_until_settled(lane, buyers[0], [(few, 1), (plenty, 1)]),
        place_until_settled(lane, buyers[1], [(few, 1)]),  # the last unit went just before
        place_until_settled(lane, buyers[2], [(999_999, 1)]),
        place_until_settled(lane, buyers[3], [(plenty, 2)]),
    ]
    answers = await asyncio.gather(
        *requests,
        place_until_settled(
            lane,
            replace(stranger, address_id=buyers[0].address_id),  # someone else's address
            [(plenty, 1)],
        ),
    )

    assert answers == [
        "placed",
        "insufficient_stock",
        "sku_not_found",
        "placed",
        "address_not_found",
    ]
    assert hook.attempts == [1], "all five were meant to be served by one batch"
    await shop.assert_conserved({few: 1, plenty: 100})
    assert (await shop.stock(plenty))["stock"] == 97


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


async def test_a_flash_sale_refuses_nobody_while_stock_lasts(make_shop):
    """A hundred buyers at once for sixty units on one process: the queue serves them together,
    so nobody hears stock_contention; exactly sixty are placed, the rest hear insufficient_stock.
    """
    shop = await make_shop()
    (sku,) = await shop.add_skus(60)
    buyers = [await shop.buyer() for _ in range(100)]

    answers = await asyncio.gather(*(shop.order(b, [(sku, 1)]) for b in buyers))

    codes = sorted(
        "placed" if r.status_code == 201 else f"{r.status_code} {r.json()['code']}" for r in answers
    )
    assert codes == ["409 insufficient_stock"] * 40 + ["placed"] * 60
    assert await shop.stock(sku) == {"stock": 0, "sales": 60, "goods_id": ANY}
    await shop.assert_conserved({sku: 60})
