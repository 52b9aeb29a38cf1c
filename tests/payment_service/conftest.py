"""Real processes for the payment service tests: the payment service, the Alipay emulator,
each on a fresh PostgreSQL database, plus helpers to sign notifies as Alipay and read the
payment database directly."""

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from payment_service.settings import PaymentSettings
from shared.alipay_sign import NOTIFY_EXCLUDED, load_private_key, sign_bytes, signing_string
from shared.db import create_engine
from shared.http import internal_client
from tests.payment_service.keys import pair
from tests.support.processes import ServiceProcess, free_port, run_module

SECRET = "payment-tests-secret-0123456789"
APP_ID = "9021000000000042"
SELLER_ID = "2088000000000042"


def migrate(database_url: str) -> None:
    run_module("payment_service", "migrate", env={"PAYMENT_DATABASE_URL": database_url})


def payment_env(database_url: str, gateway_url: str, order_service_url: str, **extra) -> dict:
    port = extra.pop("port")
    return {
        "APP_ENV": "test",
        "SERVICE_AUTH_SECRET": SECRET,
        "PAYMENT_DATABASE_URL": database_url,
        "PAYMENT_ORDER_SERVICE_URL": order_service_url,
        "PAYMENT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PAYMENT_SPA_RESULT_URL": "http://shop.example/pay/result",
        "PAYMENT_RELAY_INTERVAL_SECONDS": "0.2",
        "PAYMENT_RECONCILE_INTERVAL_SECONDS": "3600",
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_APP_PRIVATE_KEY": pair("app")[0],
        "ALIPAY_PUBLIC_KEY": pair("alipay")[1],
        "ALIPAY_GATEWAY_URL": gateway_url,
        "ALIPAY_SELLER_ID": SELLER_ID,
        "ALIPAY_TIMEOUT_SECONDS": "5",
        # the tests send many forged notifies and check each is stored; the cap has its own test
        "PAYMENT_UNVERIFIED_NOTIFIES_PER_MINUTE": "0",
        **extra,
    }


def payment_settings(env: dict[str, str]) -> PaymentSettings:
    """The settings a payment-service process started with `env` reads (without a .env file)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, str(value))
        return PaymentSettings(_env_file=None)


def start_payment_service(
    database_url: str, gateway_url: str, order_service_url: str, name: str = "payment", **extra
) -> ServiceProcess:
    port = free_port()
    env = payment_env(database_url, gateway_url, order_service_url, port=port, **extra)
    return ServiceProcess("payment_service.main:app", env=env, name=name, port=port).start()


def start_sandbox(payment_port_hint: int | None = None) -> ServiceProcess:
    port = free_port()
    env = {
        "APP_ENV": "test",
        "SERVICE_AUTH_SECRET": SECRET,
        "SANDBOX_PRIVATE_KEY": pair("alipay")[0],
        "SANDBOX_APP_ID": APP_ID,
        "SANDBOX_APP_PUBLIC_KEY": pair("app")[1],
        "SANDBOX_SELLER_ID": SELLER_ID,
        "SANDBOX_NOTIFY_SCALE": "0.001",
        "SANDBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    return ServiceProcess("alipay_sandbox.main:app", env=env, name="sandbox", port=port).start()


class PaymentDb:
    """Direct reads of the payment database, to check what was (not) recorded."""

    def __init__(self, url: str):
        self.engine = create_engine(url)

    async def rows(self, query: str, **params) -> list[dict]:
        async with self.engine.connect() as connection:
            result = await connection.execute(sa.text(query), params)
            return [dict(row) for row in result.mappings()]

    async def payment(self, order_id: str) -> dict:
        rows = await self.rows("SELECT * FROM payments WHERE order_id = :o", o=order_id)
        return rows[0] if rows else None

    async def notifies(self, out_trade_no: str | None = None) -> list[dict]:
        if out_trade_no is None:
            return await self.rows("SELECT * FROM notifies ORDER BY id")
        return await self.rows(
            "SELECT * FROM notifies WHERE out_trade_no = :o ORDER BY id", o=out_trade_no
        )

    async def outbox(self, order_id: str) -> list[dict]:
        rows = await self.rows("SELECT * FROM outbox ORDER BY created_at")
        for row in rows:
            if isinstance(row["payload"], str):  # SQLite hands JSON back as text
                row["payload"] = json.loads(row["payload"])
        return [row for row in rows if row["payload"]["order_id"] == order_id]


@pytest.fixture(scope="module")
async def sandbox():
    process = await asyncio.to_thread(start_sandbox)
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def payment_stack(pg_databases, sandbox):
    """A payment service on a fresh database, talking to the emulator; no order service."""
    url = await pg_databases.create("payment")
    await asyncio.to_thread(migrate, url)
    dead_order_service = f"http://127.0.0.1:{free_port()}"
    process = await asyncio.to_thread(
        start_payment_service, url, f"{sandbox.url}/gateway.do", dead_order_service
    )
    db = PaymentDb(url)
    yield process, db
    process.stop()
    await db.engine.dispose()


@pytest.fixture
def payment_service(payment_stack):
    return payment_stack[0]


@pytest.fixture
def payment_db(payment_stack):
    return payment_stack[1]


_counter = iter(range(10**9))


def new_order_id() -> str:
    return f"T{datetime.now(UTC):%H%M%S}{os.getpid()}N{next(_counter)}"


async def create_payment(
    service: ServiceProcess,
    order_id: str | None = None,
    amount: str = "12.50",
    channel: str = "page",
    deadline: datetime | None = None,
    client_timeout: float = 5.0,
):
    order_id = order_id or new_order_id()
    deadline = deadline or datetime.now(UTC) + timedelta(minutes=30)
    async with internal_client(service.url, SECRET, client_timeout) as client:
        return await client.post(
            "/internal/payments",
            json={
                "order_id": order_id,
                "amount": amount,
                "subject": f"Order {order_id}",
                "channel": channel,
                "pay_deadline": deadline.isoformat(),
            },
        )


def alipay_signed(params: dict[str, str], private_pem: str | None = None) -> dict[str, str]:
    """A notify or return signed as Alipay signs it (sign_type sent, not signed)."""
    key = load_private_key(private_pem or pair("alipay")[0])
    params = {"sign_type": "RSA2", **params}
    return {**params, "sign": sign_bytes(signing_string(params, NOTIFY_EXCLUDED).encode(), key)}


def notify_params(
    order_id: str, amount: str = "12.50", status: str = "TRADE_SUCCESS", **overrides
) -> dict[str, str]:
    params = {
        "notify_time": "2030-01-02 03:04:05",
        "notify_type": "trade_status_sync",
        "notify_id": f"N{order_id}",
        "app_id": APP_ID,
        "auth_app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": f"2030{order_id}",
        "out_trade_no": order_id,
        "trade_status": status,
        "total_amount": amount,
        "receipt_amount": amount,
        "subject": f"Order {order_id} 订单",
        "seller_id": SELLER_ID,
        "gmt_payment": "2030-01-02 03:04:04",
        "fund_bill_list": f'[{{"amount":"{amount}","fundChannel":"ALIPAYACCOUNT"}}]',
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def form(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()
