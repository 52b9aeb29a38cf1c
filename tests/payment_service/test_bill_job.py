"""reconcile-bill as a daily job inside the payment service (PAYMENT_BILL_RECONCILE_AT)."""

import asyncio
from datetime import UTC, datetime, time, timedelta

import httpx

from payment_service.services.bill_job import DailyBill, parse_at
from shared.alipay_wire import BEIJING
from tests.payment_service.conftest import (
    PaymentDb,
    create_payment,
    migrate,
    new_order_id,
    start_payment_service,
)
from tests.payment_service.test_close_and_reconcile import wait_for
from tests.support.processes import free_port


def test_due_once_a_day_after_its_beijing_time_for_yesterdays_bill():
    job = DailyBill(rt=None, at=time(10, 30))
    # 02:29 UTC is 10:29 in Beijing: not yet
    assert job.due(datetime(2030, 5, 6, 2, 29, tzinfo=UTC)) is None
    assert job.due(datetime(2030, 5, 6, 2, 31, tzinfo=UTC)) == datetime(2030, 5, 5).date()
    job.done_on = datetime(2030, 5, 6).date()
    assert job.due(datetime(2030, 5, 6, 15, 0, tzinfo=UTC)) is None  # 23:00 Beijing, done
    # 16:30 UTC is already the next day in Beijing (00:30): not yet; 10:31 there, due
    assert job.due(datetime(2030, 5, 6, 16, 30, tzinfo=UTC)) is None
    assert job.due(datetime(2030, 5, 7, 2, 31, tzinfo=UTC)) == datetime(2030, 5, 6).date()
    assert parse_at("") is None and parse_at("10:30") == time(10, 30)


async def test_the_service_reconciles_yesterdays_bill_by_itself(pg_databases, sandbox):
    url = await pg_databases.create("payment_bill_job")
    await asyncio.to_thread(migrate, url)
    db = PaymentDb(url)
    yesterday = (datetime.now(BEIJING) - timedelta(days=1)).date()
    # a payment we recorded as paid yesterday (Beijing), which Alipay's bill does not know
    ghost = new_order_id()
    helper = await asyncio.to_thread(
        start_payment_service, url, f"{sandbox.url}/gateway.do", f"http://127.0.0.1:{free_port()}"
    )
    try:
        assert (await create_payment(helper, ghost)).status_code == 200
    finally:
        helper.stop()
    paid_at = datetime.combine(yesterday, time(12, 0), tzinfo=BEIJING)
    async with db.engine.begin() as connection:
        await connection.exec_driver_sql(
            "UPDATE payments SET status = 'paid', paid_at = $1 WHERE order_id = $2",
            (paid_at, ghost),
        )
    assert await db.rows("SELECT id FROM bill_mismatches") == []  # off by default
    service = await asyncio.to_thread(
        start_payment_service,
        url,
        f"{sandbox.url}/gateway.do",
        f"http://127.0.0.1:{free_port()}",
        name="payment-bill-job",
        PAYMENT_BILL_RECONCILE_AT="00:00",  # due at once
    )
    try:

        async def found():
            return await db.rows(
                "SELECT kind, out_trade_no FROM bill_mismatches WHERE bill_date = :d", d=yesterday
            )

        rows = await wait_for(found, within=30)
        assert {(r["kind"], r["out_trade_no"]) for r in rows} == {("missing_from_bill", ghost)}
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{service.url}/metrics/")).text
        assert 'payment_bill_runs_total{result="mismatches"} 1.0' in metrics
    finally:
        service.stop()
        await db.engine.dispose()
