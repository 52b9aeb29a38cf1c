"""The outbox relay's claim and backoff, and the late-payment refund, on real PostgreSQL and the
emulator. The relay's delivery to a real order service is covered by tests/e2e."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import sqlalchemy as sa

from payment_service.main import alipay_client
from payment_service.services import relay
from payment_service.services.reconcile import reconcile_once
from payment_service.services.refunds import refund_late_payment
from payment_service.services.runtime import Runtime
from payment_service.storage.tables import outbox
from shared.db import create_engine, session_factory
from tests.payment_service.conftest import (
    PaymentDb,
    alipay_signed,
    create_payment,
    form,
    migrate,
    new_order_id,
    notify_params,
    payment_env,
    payment_settings,
)
from tests.payment_service.test_close_and_reconcile import (
    close,
    open_at_alipay,
    pay_at_alipay,
    sandbox_call,
    wait_for,
)


def runtime_for(payment_db, sandbox) -> Runtime:
    """The payment service's own flows, in this process, on the same database and emulator."""
    url = payment_db.engine.url.render_as_string(hide_password=False)
    env = payment_env(url, f"{sandbox.url}/gateway.do", "http://127.0.0.1:9", port=9)
    settings = payment_settings(env)
    engine = create_engine(url)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        alipay=alipay_client(settings),
        order_service=httpx.AsyncClient(),
    )


async def close_runtime(rt: Runtime) -> None:
    await rt.engine.dispose()
    await rt.alipay.aclose()
    await rt.order_service.aclose()


async def paid_by_notify(service, order_id: str) -> None:
    await create_payment(service, order_id)
    async with httpx.AsyncClient(base_url=service.url) as client:
        response = await client.post(
            "/alipay/notify", content=form(alipay_signed(notify_params(order_id)))
        )
    assert response.text == "success"


async def test_undeliverable_events_back_off_and_stay_pending(payment_service, payment_db):
    """The order service is down (the module's stack has none): attempts grow, nothing is lost."""
    order_id = new_order_id()
    await paid_by_notify(payment_service, order_id)

    async def retried():
        [event] = await payment_db.outbox(order_id)
        return event if event["attempts"] >= 2 else None

    event = await wait_for(retried, within=15)
    assert event["delivered_at"] is None
    assert "unreachable" in event["last_error"]
    assert event["next_attempt_at"] > datetime.now(UTC)


async def test_a_row_claimed_by_one_relay_is_skipped_by_another(pg_databases, sandbox):
    """FOR UPDATE SKIP LOCKED: while one replica holds its claim open, another claims the rest.
    On a database of its own, so no running relay takes the rows first."""
    url = await pg_databases.create("payment_claim")
    await asyncio.to_thread(migrate, url)
    db = PaymentDb(url)
    rt = runtime_for(db, sandbox)
    try:
        now = datetime.now(UTC)
        async with rt.sessions.begin() as session:
            await session.execute(
                sa.insert(outbox),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "topic": "payment.paid",
                        "payload": {"order_id": f"O{i}"},
                        "created_at": now,
                        "next_attempt_at": now - timedelta(seconds=10 - i),
                    }
                    for i in range(5)
                ],
            )
        first_claimed = asyncio.Event()
        release = asyncio.Event()

        async def hold_one_claim():
            async with rt.sessions.begin() as session:
                rows = (
                    (
                        await session.execute(
                            sa.select(outbox.c.id)
                            .order_by(outbox.c.next_attempt_at)
                            .limit(1)
                            .with_for_update(skip_locked=True)
                        )
                    )
                    .scalars()
                    .all()
                )
                first_claimed.set()
                await release.wait()
                return rows

        holder = asyncio.create_task(hold_one_claim())
        await first_claimed.wait()
        claimed = await relay.claim_due(rt)
        release.set()
        held = await holder
        assert len(held) == 1
        assert len(claimed) == 4
        assert held[0] not in {row.id for row in claimed}
        # claimed rows are leased: the next claim gets only the row that was held
        again = await relay.claim_due(rt)
        assert [row.id for row in again] == held
        leased = await db.rows("SELECT attempts, next_attempt_at FROM outbox")
        assert all(row["attempts"] == 1 for row in leased)
        assert all(row["next_attempt_at"] > datetime.now(UTC) for row in leased)
    finally:
        await close_runtime(rt)
        await db.engine.dispose()


async def test_late_payment_refund_is_made_once_even_when_retried(
    payment_service, payment_db, sandbox
):
    order_id = new_order_id()
    await open_at_alipay(payment_service, order_id)
    paid = await pay_at_alipay(sandbox, order_id)
    payment = await wait_for(lambda: _with_status(payment_db, order_id, "paid"))
    assert payment["trade_no"] == paid["trade_no"]
    rt = runtime_for(payment_db, sandbox)
    try:
        await refund_late_payment(rt, order_id)
        # as if the process had died after Alipay refunded and before we recorded it
        await payment_db_exec(rt, "UPDATE refunds SET status = 'requested', refunded_at = NULL")
        await payment_db_exec(
            rt,
            "UPDATE payments SET status = 'paid', refunded_amount = 0 WHERE order_id = :o",
            o=order_id,
        )
        await refund_late_payment(rt, order_id)
        await refund_late_payment(rt, order_id)
    finally:
        await close_runtime(rt)
    payment = await payment_db.payment(order_id)
    assert payment["status"] == "refunded"
    assert payment["refunded_amount"] == Decimal("12.50")
    refunds = await payment_db.rows("SELECT * FROM refunds WHERE payment_id = :p", p=payment["id"])
    assert [(r["out_request_no"], r["amount"], r["status"], r["reason"]) for r in refunds] == [
        (f"{order_id}R1", Decimal("12.50"), "succeeded", "paid after the order was cancelled")
    ]
    trade = (await sandbox_call(sandbox, "GET", f"/sandbox/trades/{order_id}")).json()
    assert len(trade["refunds"]) == 1
    assert Decimal(trade["refund_fee"]) == Decimal("12.50")


async def _with_status(db, order_id, status):
    payment = await db.payment(order_id)
    return payment if payment and payment["status"] == status else None


async def payment_db_exec(rt: Runtime, statement: str, **params) -> None:
    async with rt.sessions.begin() as session:
        await session.execute(sa.text(statement), params)


async def test_a_local_close_is_watched_until_its_link_has_expired(
    payment_service, payment_db, sandbox
):
    """Closed here while no trade existed at Alipay, the link stays payable until its deadline:
    the reconciler keeps checking it, and stops after a check past the deadline finds it
    unpaid. A trade closed at Alipay itself is not watched."""
    at_alipay = new_order_id()
    await open_at_alipay(payment_service, at_alipay)
    assert (await close(payment_service, at_alipay)).json()["status"] == "closed"
    assert (await payment_db.payment(at_alipay))["next_check_at"] is None

    order_id = new_order_id()
    past = datetime.now(UTC) - timedelta(minutes=30)
    await create_payment(payment_service, order_id, deadline=past)  # 409, the row stays
    assert (await close(payment_service, order_id)).json()["status"] == "closed"
    assert (await payment_db.payment(order_id))["next_check_at"] is not None
    rt = runtime_for(payment_db, sandbox)
    try:
        await payment_db_exec(
            rt, "UPDATE payments SET next_check_at = now() WHERE order_id = :o", o=order_id
        )
        assert await reconcile_once(rt) == 0
    finally:
        await close_runtime(rt)
    payment = await payment_db.payment(order_id)
    assert (payment["status"], payment["next_check_at"]) == ("closed", None)
