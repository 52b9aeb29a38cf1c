"""The reconciler's schedule: every open payment gets its turn, and replicas share the work.

Payments are made through a real payment service process; the reconciler rounds run here,
against the same database and the Alipay emulator process, with the Alipay client's HTTP
requests recorded to see which payments were queried.
"""

import asyncio
import json
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from math import ceil
from urllib.parse import parse_qsl

import httpx
import pytest
import sqlalchemy as sa

from payment_service.alipay import AlipayClient, AlipayConfig
from payment_service.services.reconcile import BATCH, next_check, reconcile_once
from payment_service.services.runtime import Runtime
from payment_service.storage.tables import payments
from shared.db import create_engine, session_factory
from shared.http import internal_client
from tests.payment_service.conftest import (
    PaymentDb,
    create_payment,
    migrate,
    new_order_id,
    payment_env,
    payment_settings,
    start_payment_service,
)
from tests.payment_service.test_close_and_reconcile import (
    open_at_alipay,
    pay_at_alipay,
    sandbox_call,
)
from tests.support.processes import free_port


class QueryLog:
    """The out_trade_no of every alipay.trade.query request sent, in order."""

    def __init__(self):
        self.queried: list[str] = []

    async def __call__(self, request: httpx.Request) -> None:
        params = dict(parse_qsl(request.content.decode()))
        if params.get("method") == "alipay.trade.query":
            self.queried.append(json.loads(params["biz_content"])["out_trade_no"])


@asynccontextmanager
async def reconciler(database_url: str, sandbox_url: str):
    """A reconciler as a payment service replica runs it (default PAYMENT_RECONCILE_AFTER)."""
    dead_order_service = f"http://127.0.0.1:{free_port()}"
    settings = payment_settings(
        payment_env(database_url, f"{sandbox_url}/gateway.do", dead_order_service, port=free_port())
    )
    log = QueryLog()
    alipay = AlipayClient(
        AlipayConfig(
            app_id=settings.alipay_app_id,
            app_private_key=settings.alipay_app_private_key,
            alipay_public_key=settings.alipay_public_key,
            gateway_url=settings.alipay_gateway_url,
        ),
        http=httpx.AsyncClient(timeout=5, event_hooks={"request": [log]}),
    )
    engine = create_engine(database_url)
    rt = Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        alipay=alipay,
        order_service=internal_client(dead_order_service, settings.service_auth_secret),
    )
    try:
        yield rt, log
    finally:
        await alipay.aclose()
        await rt.order_service.aclose()
        await engine.dispose()


@asynccontextmanager
async def payment_stack(database_url: str, sandbox):
    await asyncio.to_thread(migrate, database_url)
    service = await asyncio.to_thread(
        start_payment_service,
        database_url,
        f"{sandbox.url}/gateway.do",
        f"http://127.0.0.1:{free_port()}",
        name="payment-schedule",
    )
    db = PaymentDb(database_url)
    try:
        yield service, db
    finally:
        service.stop()
        await db.engine.dispose()


async def abandoned_links(service, db: PaymentDb, count: int) -> list[str]:
    """`count` open payments whose links were made about two hours ago, one second apart."""
    order_ids = []
    for _ in range(count):
        order_id = new_order_id()
        response = await create_payment(service, order_id)
        assert response.status_code == 200, response.text
        order_ids.append(order_id)
    await backdate(db, order_ids)
    return order_ids


async def backdate(db: PaymentDb, order_ids: list[str]) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    async with db.engine.begin() as connection:
        for index, order_id in enumerate(order_ids):
            await connection.execute(
                sa.update(payments)
                .where(payments.c.order_id == order_id)
                .values(created_at=start + timedelta(seconds=index))
            )


async def next_check_at(db: PaymentDb, order_id: str) -> datetime:
    async with db.engine.connect() as connection:
        return await connection.scalar(
            sa.select(payments.c.next_check_at).where(payments.c.order_id == order_id)
        )


@pytest.fixture(params=["postgresql", "sqlite"])
async def database_url(request, pg_databases, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'payment.db'}"
    return await pg_databases.create("payment_schedule")


def test_the_wait_doubles_with_age_from_the_reconcile_delay_up_to_an_hour():
    created = datetime(2030, 1, 1, tzinfo=UTC)
    after = timedelta(seconds=300)
    checks = [created + after]
    while len(checks) < 8:
        checks.append(next_check(created, checks[-1], after))
    ages = [(check - created).total_seconds() for check in checks]
    assert ages == [300, 600, 1200, 2400, 4800, 8400, 12000, 15600]
    young = next_check(created, created + timedelta(seconds=5), after)
    assert young - (created + timedelta(seconds=5)) == after


async def test_the_newest_lost_notify_is_found_behind_more_than_a_batch_of_open_links(
    database_url, sandbox
):
    async with payment_stack(database_url, sandbox) as (service, db):
        order_ids = await abandoned_links(service, db, 2 * BATCH + 20)
        newest = new_order_id()
        await open_at_alipay(service, newest)
        await backdate(db, [*order_ids, newest])
        fault = {"out_trade_no": newest, "fail_first": 8}  # every notify is lost
        assert (await sandbox_call(sandbox, "POST", "/sandbox/faults", json=fault)).is_success
        paid = await pay_at_alipay(sandbox, newest)

        async with reconciler(database_url, sandbox.url) as (rt, log):
            rounds = ceil((len(order_ids) + 1) / BATCH)
            found = [await reconcile_once(rt) for _ in range(rounds)]
            assert found == [0] * (rounds - 1) + [1]  # oldest first, the newest in the last
            payment = await db.payment(newest)
            assert (payment["status"], payment["trade_no"]) == ("paid", paid["trade_no"])
            assert len(await db.outbox(newest)) == 1
            assert sorted(log.queried) == sorted([*order_ids, newest])  # each exactly once

            assert await reconcile_once(rt) == 0
            assert len(log.queried) == len(order_ids) + 1  # all checked wait their next turn
            assert (await db.payment(order_ids[0]))["status"] == "created"
            later = await next_check_at(db, order_ids[0])
            assert later > datetime.now(UTC) + timedelta(minutes=55)


async def test_two_reconcilers_at_once_never_query_the_same_payment(pg_databases, sandbox):
    url = await pg_databases.create("payment_replicas")
    async with payment_stack(url, sandbox) as (service, db):
        order_ids = await abandoned_links(service, db, 2 * BATCH + 10)
        async with (
            reconciler(url, sandbox.url) as (a, log_a),
            reconciler(url, sandbox.url) as (b, log_b),
        ):
            await asyncio.gather(reconcile_once(a), reconcile_once(b))
            first_a, first_b = list(log_a.queried), list(log_b.queried)
            assert first_a and first_b  # both did work
            assert not set(first_a) & set(first_b)
            assert len(first_a) + len(first_b) == 2 * BATCH
            assert len(set(first_a + first_b)) == 2 * BATCH

            await asyncio.gather(reconcile_once(a), reconcile_once(b))
            everything = log_a.queried + log_b.queried
            assert sorted(everything) == sorted(order_ids)  # each once over the two rounds
