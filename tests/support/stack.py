"""The whole system as real processes: the Alipay emulator, the payment service, the order service.

Each on a free port, on its own fresh PostgreSQL database (order, payment) and a fresh Redis
db, with RSA key pairs generated for the run. Ports are chosen before anything starts because
the order and payment services name each other in their settings.

The `Stack` also holds small clients that act as a buyer (register, cart, order, link), as
Alipay's buyer (pay at the emulator) and as an operator (SQL on the databases).
"""

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.support.cashier import login_url
from tests.support.data import ADDRESS
from tests.support.keys import write_key_pair
from tests.support.processes import ServiceProcess, free_port, run_module

APP_ID = "2021000000000001"
SELLER_ID = "2088000000000001"

DEFAULT_CATALOG = [
    {"name": f"e2e item {n}", "price": price, "stock": 100, "goods": f"e2e goods {n}"}
    for n, price in enumerate(["12.50", "3.99", "100.00", "0.01", "25.00", "7.30"], start=1)
]


async def eventually(
    check: Callable[[], Awaitable[Any]], within: float, what: str, interval: float = 0.1
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"not {what} within {within}s; last seen: {last!r}")
        await asyncio.sleep(interval)


def plain_dsn(url: str) -> str:
    """asyncpg wants postgresql://, SQLAlchemy's URL says postgresql+asyncpg://."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass
class Buyer:
    username: str
    password: str
    token: str
    address_id: Any = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class StackOptions:
    pay_timeout_seconds: int = 1800
    sweep_interval_seconds: float = 1
    relay_interval_seconds: float = 0.2
    reconcile_interval_seconds: float = 60
    reconcile_after_seconds: float = 300
    notify_scale: float = 0.001
    catalog: list[dict] = field(default_factory=lambda: list(DEFAULT_CATALOG))
    extra_env: dict[str, str] = field(default_factory=dict)


class Stack:
    """Three uvicorn processes; `await Stack.create(...)`, then `await stack.close()`."""

    def __init__(
        self, workdir: Path, order_db: str, payment_db: str, redis_url: str, options: StackOptions
    ):
        self.workdir = workdir
        self.order_db = order_db
        self.payment_db = payment_db
        self.redis_url = redis_url
        self.options = options
        self.service_secret = secrets.token_urlsafe(32)
        ports = {name: free_port() for name in ("order", "payment", "sandbox")}
        self.env = self._environment(ports)
        tag = uuid.uuid4().hex[:6]
        self.sandbox = ServiceProcess(
            "alipay_sandbox.main:app", self.env, f"e2e-{tag}-sandbox", ports["sandbox"]
        )
        self.payment = ServiceProcess(
            "payment_service.main:app", self.env, f"e2e-{tag}-payment", ports["payment"]
        )
        self.order = ServiceProcess(
            "order_service.main:app", self.env, f"e2e-{tag}-order", ports["order"]
        )
        self.http = httpx.AsyncClient(timeout=15)

    # ----------------------------------------------------------------- set-up and processes

    @classmethod
    async def create(
        cls, pg_databases, redis_url: str, workdir: Path, options: StackOptions | None = None
    ) -> "Stack":
        order_db = await pg_databases.create("e2e_order")
        payment_db = await pg_databases.create("e2e_payment")
        stack = cls(workdir, order_db, payment_db, redis_url, options or StackOptions())
        await asyncio.gather(
            asyncio.to_thread(run_module, "order_service", "migrate", env=stack.env),
            asyncio.to_thread(run_module, "payment_service", "migrate", env=stack.env),
        )
        catalog_file = workdir / "catalog.json"
        catalog_file.write_text(json.dumps(stack.options.catalog))
        await asyncio.to_thread(
            run_module, "order_service", "load-catalog", str(catalog_file), env=stack.env
        )
        await stack.start_all()
        return stack

    def _environment(self, ports: dict[str, int]) -> dict[str, str]:
        keys = self.workdir / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        app, sandbox = write_key_pair(keys, "app"), write_key_pair(keys, "sandbox")
        self.sandbox_private_key_path = str(sandbox.private_path)
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        self.urls = urls
        opts = self.options
        env = {
            "APP_ENV": "test",
            "SERVICE_AUTH_SECRET": self.service_secret,
            # order service
            "ORDER_DATABASE_URL": self.order_db,
            "ORDER_REDIS_URL": self.redis_url,
            "ORDER_PAYMENT_SERVICE_URL": urls["payment"],
            "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
            "ORDER_PAY_TIMEOUT_SECONDS": str(opts.pay_timeout_seconds),
            "ORDER_SWEEP_INTERVAL_SECONDS": str(opts.sweep_interval_seconds),
            # every test client is 127.0.0.1: the per-address limit is tested on its own
            "ORDER_CLIENT_RATE_LIMIT": "100000",
            # payment service
            "PAYMENT_DATABASE_URL": self.payment_db,
            "PAYMENT_ORDER_SERVICE_URL": urls["order"],
            "PAYMENT_PUBLIC_URL": urls["payment"],
            "PAYMENT_SPA_RESULT_URL": f"{urls['order']}/",
            "PAYMENT_RELAY_INTERVAL_SECONDS": str(opts.relay_interval_seconds),
            "PAYMENT_RECONCILE_INTERVAL_SECONDS": str(opts.reconcile_interval_seconds),
            "PAYMENT_RECONCILE_AFTER_SECONDS": str(opts.reconcile_after_seconds),
            "ALIPAY_APP_ID": APP_ID,
            "ALIPAY_APP_PRIVATE_KEY": str(app.private_path),
            "ALIPAY_PUBLIC_KEY": str(sandbox.public_path),
            "ALIPAY_GATEWAY_URL": f"{urls['sandbox']}/gateway.do",
            "ALIPAY_SELLER_ID": SELLER_ID,
            # the emulator ("Alipay")
            "SANDBOX_PRIVATE_KEY": str(sandbox.private_path),
            "SANDBOX_APP_ID": APP_ID,
            "SANDBOX_APP_PUBLIC_KEY": str(app.public_path),
            "SANDBOX_SELLER_ID": SELLER_ID,
            "SANDBOX_NOTIFY_SCALE": str(opts.notify_scale),
            "SANDBOX_PUBLIC_URL": urls["sandbox"],
        }
        env.update(opts.extra_env)
        return env

    @property
    def processes(self) -> dict[str, ServiceProcess]:
        return {"sandbox": self.sandbox, "payment": self.payment, "order": self.order}

    async def start_all(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in self.processes.values()))

    async def start(self, name: str) -> None:
        await asyncio.to_thread(self.processes[name].start)

    async def stop(self, name: str) -> None:
        """Graceful stop (SIGTERM)."""
        await asyncio.to_thread(self.processes[name].stop)

    async def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs."""
        await asyncio.to_thread(self.processes[name].kill)

    async def restart(self, name: str) -> None:
        """Stop (if running) and start again on the same port with the same environment."""
        await self.stop(name)
        await self.start(name)

    def is_running(self, name: str) -> bool:
        process = self.processes[name].process
        return process is not None and process.poll() is None

    async def ensure_running(self) -> None:
        """Bring back any process a previous test left stopped or killed."""
        down = [name for name in self.processes if not self.is_running(name)]
        await asyncio.gather(*(self.start(name) for name in down))

    async def close(self) -> None:
        await self.http.aclose()
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.processes.values()))

    def logs(self, lines: int = 60) -> str:
        return "\n".join(
            f"--- {name} ({p.log_path})\n{p.tail(lines)}" for name, p in self.processes.items()
        )

    # ----------------------------------------------------------------- the buyer

    async def register(self) -> Buyer:
        username = f"buyer{uuid.uuid4().hex[:12]}"
        password = secrets.token_urlsafe(12)
        response = await self.http.post(
            f"{self.order.url}/api/auth/register", json={"username": username, "password": password}
        )
        assert response.status_code == 201, response.text
        response = await self.http.post(
            f"{self.order.url}/api/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return Buyer(username, password, response.json()["access_token"])

    async def add_address(self, buyer: Buyer) -> Any:
        response = await self.http.post(
            f"{self.order.url}/api/addresses",
            headers=buyer.headers,
            json=ADDRESS,
        )
        assert response.status_code == 201, response.text
        buyer.address_id = response.json()["id"]
        return buyer.address_id

    async def new_buyer(self) -> Buyer:
        buyer = await self.register()
        await self.add_address(buyer)
        return buyer

    async def skus(self) -> list[dict]:
        response = await self.http.get(f"{self.order.url}/api/skus", params={"limit": 100})
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def sku_by_name(self, name: str) -> dict:
        for sku in await self.skus():
            if sku["name"] == name:
                return sku
        raise AssertionError(f"no sku named {name!r} in the catalog")

    async def sku(self, sku_id: Any) -> dict:
        response = await self.http.get(f"{self.order.url}/api/skus/{sku_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def put_cart(self, buyer: Buyer, sku_id: Any, count: int) -> dict:
        response = await self.http.put(
            f"{self.order.url}/api/cart/items/{sku_id}",
            headers=buyer.headers,
            json={"count": count},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def cart(self, buyer: Buyer) -> list[dict]:
        response = await self.http.get(f"{self.order.url}/api/cart", headers=buyer.headers)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def place_order(self, buyer: Buyer, items: list[dict] | None = None) -> dict:
        """An Alipay order; `items` [{"sku_id", "count"}] or None to order the cart."""
        body: dict[str, Any] = {"address_id": buyer.address_id, "pay_method": "alipay"}
        if items is not None:
            body["items"] = items
        response = await self.http.post(
            f"{self.order.url}/api/orders", headers=buyer.headers, json=body
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def get_order(self, buyer: Buyer, order_id: str) -> dict:
        response = await self.http.get(
            f"{self.order.url}/api/orders/{order_id}", headers=buyer.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def request_link(self, buyer: Buyer, order_id: str, channel: str = "page"):
        return await self.http.post(
            f"{self.order.url}/api/orders/{order_id}/payment",
            headers=buyer.headers,
            json={"channel": channel},
        )

    async def pay_url(self, buyer: Buyer, order_id: str, channel: str = "page") -> str:
        response = await self.request_link(buyer, order_id, channel)
        assert response.status_code == 200, response.text
        return response.json()["pay_url"]

    async def cancel_order(self, buyer: Buyer, order_id: str):
        return await self.http.post(
            f"{self.order.url}/api/orders/{order_id}/cancel", headers=buyer.headers
        )

    async def wait_order_status(
        self, buyer: Buyer, order_id: str, status: str, within: float = 15
    ) -> dict:
        async def reached():
            order = await self.get_order(buyer, order_id)
            return order if order["status"] == status else None

        try:
            return await eventually(reached, within, f"order {order_id} to be {status!r}")
        except AssertionError as exc:
            order = await self.get_order(buyer, order_id)
            raise AssertionError(f"{exc}; order is {order['status']!r}\n{self.logs()}") from None

    # ----------------------------------------------------------------- Alipay's side (emulator)

    async def open_cashier(self, pay_url: str, log_in: bool = False) -> httpx.Response:
        """What the browser does with the link: the emulator shows its cashier page. No trade
        exists at Alipay until the buyer logs in (or scans): `log_in` does that too."""
        response = await self.http.get(pay_url, follow_redirects=True)
        assert response.status_code == 200, response.text
        if log_in:
            response = await self.http.post(login_url(response), follow_redirects=True)
            assert response.status_code == 200, response.text
        return response

    async def pay_at_emulator(self, out_trade_no: str) -> httpx.Response:
        return await self.http.post(f"{self.sandbox.url}/sandbox/trades/{out_trade_no}/pay")

    async def buyer_pays(self, pay_url: str, out_trade_no: str) -> dict:
        """Open the cashier page, then pay; returns the emulator's answer (with return_url)."""
        await self.open_cashier(pay_url)
        response = await self.pay_at_emulator(out_trade_no)
        assert response.status_code == 200, response.text
        return response.json()

    async def emulator_trade(self, out_trade_no: str) -> httpx.Response:
        return await self.http.get(f"{self.sandbox.url}/sandbox/trades/{out_trade_no}")

    async def set_faults(self, **faults: Any) -> None:
        response = await self.http.post(f"{self.sandbox.url}/sandbox/faults", json=faults)
        assert response.status_code == 200, response.text

    async def clear_faults(self) -> None:
        response = await self.http.delete(f"{self.sandbox.url}/sandbox/faults")
        assert response.status_code in (200, 204), response.text

    # ----------------------------------------------------------------- the operator (SQL)

    async def payment_sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await _fetch(self.payment_db, query, *args)

    async def order_sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await _fetch(self.order_db, query, *args)


async def _fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_dsn(url), timeout=5)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()
