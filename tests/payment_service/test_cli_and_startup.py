"""The commands of the contract, and start-up refusing a key that does not load."""

import asyncio
import time

import httpx
import pytest

from shared.alipay_sign import load_private_key, load_public_key, sign_bytes, verify_bytes
from tests.payment_service.conftest import (
    PaymentDb,
    alipay_signed,
    create_payment,
    form,
    migrate,
    new_order_id,
    notify_params,
    start_payment_service,
)
from tests.payment_service.keys import pair
from tests.support.processes import ServiceProcess, free_port, run_module


def test_keygen_writes_a_matching_rsa_2048_pair(tmp_path):
    target = tmp_path / "keys"
    output = run_module("payment_service", "keygen", str(target))
    assert "app_private_key.pem" in output
    private = load_private_key(str(target / "app_private_key.pem"))
    public = load_public_key(str(target / "app_public_key.pem"))
    assert private.key_size == 2048
    assert verify_bytes(b"hello", sign_bytes(b"hello", private), public)
    assert (target / "app_private_key.pem").stat().st_mode & 0o077 == 0


async def test_migrate_creates_the_tables(pg_databases):
    url = await pg_databases.create("payment_migrate")
    await asyncio.to_thread(migrate, url)
    await asyncio.to_thread(migrate, url)  # a second run is a no-op
    db = PaymentDb(url)
    try:
        tables = await db.rows(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    finally:
        await db.engine.dispose()
    assert [t["tablename"] for t in tables] == [
        "alembic_version",
        "bill_mismatches",
        "notifies",
        "outbox",
        "payments",
        "refunds",
        "service_nonces",
    ]


@pytest.mark.parametrize(
    "setting, value",
    [
        (
            "ALIPAY_APP_PRIVATE_KEY",
            "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Q",
        ),
        ("ALIPAY_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----"),
        ("ALIPAY_APP_PRIVATE_KEY", "/no/such/file.pem"),
    ],
)
async def test_a_key_that_does_not_load_stops_start_up_naming_the_setting(
    pg_databases, setting, value
):
    url = await pg_databases.create("payment_badkey")
    with pytest.raises(RuntimeError, match="exited early") as failure:
        await asyncio.to_thread(
            start_payment_service,
            url,
            "http://127.0.0.1:9/gateway.do",
            f"http://127.0.0.1:{free_port()}",
            "payment-badkey",
            **{setting: value},
        )
    assert setting in str(failure.value)


async def test_sqlite_quick_start_pays_and_stops_cleanly(tmp_path, sandbox):
    """The quick-start database: migrate, take a genuine notify, then stop on SIGTERM promptly
    (the relay and reconciler tasks are cancelled and awaited)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'payment.db'}"
    await asyncio.to_thread(migrate, url)
    service = await asyncio.to_thread(
        start_payment_service,
        url,
        f"{sandbox.url}/gateway.do",
        f"http://127.0.0.1:{free_port()}",
        "payment-sqlite",
        PAYMENT_RECONCILE_INTERVAL_SECONDS="0.2",
        PAYMENT_RECONCILE_AFTER_SECONDS="0",
    )
    db = PaymentDb(url)
    try:
        order_id = new_order_id()
        assert (await create_payment(service, order_id)).status_code == 200
        async with httpx.AsyncClient(base_url=service.url) as client:
            answer = await client.post(
                "/alipay/notify", content=form(alipay_signed(notify_params(order_id)))
            )
            ready = await client.get("/readyz")
        assert answer.text == "success"
        assert ready.status_code == 200
        assert (await db.payment(order_id))["status"] == "paid"
        assert len(await db.outbox(order_id)) == 1
        await asyncio.sleep(1)  # let the relay and the reconciler run a few rounds
    finally:
        started = time.monotonic()
        await asyncio.to_thread(service.stop, 60)  # SIGKILL only after a minute
        await db.engine.dispose()
    # It stopped by itself (not killed) after its lifespan's last word; a correct stop takes a
    # fraction of a second, the bound is slack for a loaded machine.
    assert service.process is not None and service.process.returncode in (0, -15)
    assert "payment_stopped" in service.tail(5), service.tail()
    assert time.monotonic() - started < 30
    assert "Traceback" not in service.tail(200)


async def test_production_against_the_emulator_stops_start_up_unless_a_sandbox(pg_databases):
    """Issue 10, item 10: compose ran the payment service in production trusting the emulator,
    at which anyone can pay."""
    url = await pg_databases.create("payment_production")
    await asyncio.to_thread(migrate, url)
    production = {"APP_ENV": "production", "SERVICE_AUTH_SECRET": "p" * 32}
    emulator = "http://127.0.0.1:9/gateway.do"
    order = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RuntimeError, match="exited early") as failure:
        await asyncio.to_thread(
            start_payment_service, url, emulator, order, "payment-production", **production
        )
    assert "is not Alipay's gateway" in str(failure.value)
    assert "ALIPAY_SANDBOX=true" in str(failure.value)
    service = await asyncio.to_thread(
        start_payment_service,
        url,
        emulator,
        order,
        "payment-production-sandbox",
        ALIPAY_SANDBOX="true",
        **production,
    )
    service.stop()


async def test_the_emulator_does_not_start_in_production():
    env = {
        "APP_ENV": "production",
        "SANDBOX_PRIVATE_KEY": pair("alipay")[0],
        "SANDBOX_APP_PUBLIC_KEY": pair("app")[1],
    }
    emulator = ServiceProcess("alipay_sandbox.main:app", env, "sandbox-production")
    with pytest.raises(RuntimeError, match="exited early") as failure:
        await asyncio.to_thread(emulator.start)
    assert "does not run with APP_ENV=production" in str(failure.value)
