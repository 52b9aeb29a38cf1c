"""Order service test fixtures: the app on a fresh, migrated PostgreSQL database and real Redis.

`make_shop(...)` starts the app's lifespan (engine, cart store, payment client, sweeper) and
talks to it with httpx over ASGI; `Shop` holds the little steps every test repeats (a buyer with
a token and an address, a catalog, reading stock back from the database).
"""

import asyncio
import contextlib
import secrets
import uuid
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, insert, select, update

from order_service.__main__ import migrate
from order_service.main import create_app
from order_service.services.catalog import CatalogEntry, load_catalog
from order_service.services.users import issue_token
from order_service.settings import OrderSettings
from order_service.storage.goods import find_goods
from order_service.storage.tables import order_lines, orders, skus, users
from shared.time import now_utc
from tests.support.data import ADDRESS
from tests.support.keys import write_key_pair
from tests.support.processes import ServiceProcess, free_port, run_module

SERVICE_SECRET = "order-tests-" + secrets.token_hex(16)
JWT_SECRET = "order-tests-jwt-" + secrets.token_hex(16)
_QUICK_HASH = PasswordHasher().hash("quick buyer password")


def closed_port_url() -> str:
    """A URL where nothing listens: the payment service is down."""
    return f"http://127.0.0.1:{free_port()}"


def order_settings(database_url: str, redis_url: str, **overrides) -> OrderSettings:
    values = {
        "APP_ENV": "test",
        "SERVICE_AUTH_SECRET": SERVICE_SECRET,
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_secret": JWT_SECRET,
        "payment_service_url": closed_port_url(),
        "ORDER_PAYMENT_TIMEOUT_SECONDS": 2.0,
        "sweep_interval_seconds": 3600.0,  # tests that want the sweeper set it
        # every test client is 127.0.0.1: the per-address limit is tested on its own
        "client_rate_limit": 100_000,
    }
    values.update(overrides)
    return OrderSettings(**values)


def order_env(settings: OrderSettings) -> dict[str, str]:
    """The same settings as environment variables, for an order service process."""
    return {
        "APP_ENV": "test",
        "SERVICE_AUTH_SECRET": settings.service_auth_secret,
        "ORDER_DATABASE_URL": settings.database_url,
        "ORDER_REDIS_URL": settings.redis_url,
        "ORDER_JWT_SECRET": settings.jwt_secret,
        "ORDER_PAYMENT_SERVICE_URL": settings.payment_service_url,
        "ORDER_PAY_TIMEOUT_SECONDS": str(settings.pay_timeout_seconds),
        "ORDER_SWEEP_INTERVAL_SECONDS": str(settings.sweep_interval_seconds),
        "ORDER_DB_POOL_SIZE": str(settings.db_pool_size),
        "ORDER_CLIENT_RATE_LIMIT": str(settings.client_rate_limit),
        "ORDER_LOGIN_FAILURE_LIMIT": str(settings.login_failure_limit),
    }


async def migrated_database(pg_databases, prefix: str = "order") -> str:
    url = await pg_databases.create(prefix)
    await asyncio.to_thread(migrate, url)  # alembic runs its own event loop
    return url


@dataclass
class Buyer:
    username: str
    user_id: int
    token: str
    address_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Shop:
    def __init__(self, app, client: httpx.AsyncClient):
        self.app = app
        self.client = client

    @property
    def sessions(self):
        return self.app.state.sessions

    @property
    def hooks(self):
        return self.app.state.checkout_hooks

    async def registered_buyer(self, client: httpx.AsyncClient | None = None) -> Buyer:
        """A buyer made through HTTP: register, log in, add an address."""
        client = client or self.client
        username = f"buyer_{uuid.uuid4().hex[:10]}"
        registered = await client.post(
            "/api/auth/register", json={"username": username, "password": "correct horse"}
        )
        assert registered.status_code == 201, registered.text
        token = await client.post(
            "/api/auth/token", data={"username": username, "password": "correct horse"}
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        address = await client.post("/api/addresses", json=ADDRESS, headers=headers)
        assert address.status_code == 201, address.text
        return Buyer(
            username, registered.json()["id"], token.json()["access_token"], address.json()["id"]
        )

    async def buyer(self, client: httpx.AsyncClient | None = None, sessions=None) -> Buyer:
        """A buyer written straight to the database with a token issued as login would.

        argon2 hashing costs ~0.3 s per buyer, too slow for races with dozens of them; registration
        and login themselves are tested through HTTP elsewhere.
        """
        client = client or self.client
        username = f"quick_{uuid.uuid4().hex[:10]}"
        async with (sessions or self.sessions)() as session, session.begin():
            user_id = await session.scalar(
                insert(users)
                .values(username=username, password_hash=_QUICK_HASH, created_at=now_utc())
                .returning(users.c.id)
            )
        token = issue_token(user_id, JWT_SECRET, 3600)
        headers = {"Authorization": f"Bearer {token}"}
        address = await client.post("/api/addresses", json=ADDRESS, headers=headers)
        assert address.status_code == 201, address.text
        return Buyer(username, user_id, token, address.json()["id"])

    async def admin(self, client: httpx.AsyncClient | None = None) -> Buyer:
        """A merchant admin (as `create-admin` makes one) with a token, and an address."""
        buyer = await self.buyer(client)
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(users).where(users.c.id == buyer.user_id).values(is_admin=True)
            )
        return buyer

    async def add_skus(self, *stocks: int, price: str = "12.50", goods_name: str | None = None):
        """New SKUs with the given stocks (sharing one SPU when goods_name is set); their ids."""
        tag = uuid.uuid4().hex[:8]
        entries = [
            CatalogEntry(name=f"sku {tag} {n}", price=price, stock=stock, goods=goods_name)
            for n, stock in enumerate(stocks)
        ]
        await load_catalog(self.sessions, entries)
        async with self.sessions() as session:
            rows = await session.execute(
                select(skus.c.id).where(skus.c.name.like(f"sku {tag} %")).order_by(skus.c.id)
            )
            return [row.id for row in rows]

    async def order(
        self,
        buyer: Buyer,
        items,
        pay_method: str = "alipay",
        key: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        headers = dict(buyer.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        body = {"address_id": buyer.address_id, "pay_method": pay_method}
        if items is not None:
            body["items"] = [{"sku_id": sku_id, "count": count} for sku_id, count in items]
        return await (client or self.client).post("/api/orders", json=body, headers=headers)

    async def stock(self, sku_id: int) -> dict:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(skus.c.stock, skus.c.sales, skus.c.goods_id).where(skus.c.id == sku_id)
                )
            ).one()
            return row._asdict()

    async def goods_sales(self, goods_id: int) -> int:
        """The goods' sales as the storefront reads them: the sum of its SKUs' sales."""
        async with self.sessions() as session:
            return int((await find_goods(session, goods_id)).sales)

    async def assert_conserved(self, initial: dict[int, int]) -> None:
        await assert_conserved(self.sessions, initial)


async def assert_conserved(sessions, initial: dict[int, int]) -> None:
    """Per SKU, stock + units in live orders == initial; sales match; no order lacks lines."""
    async with sessions() as session:
        for sku_id, start in initial.items():
            row = (
                await session.execute(select(skus.c.stock, skus.c.sales).where(skus.c.id == sku_id))
            ).one()
            sold = await session.scalar(
                select(func.coalesce(func.sum(order_lines.c.count), 0))
                .join(orders, orders.c.order_id == order_lines.c.order_id)
                .where(order_lines.c.sku_id == sku_id, orders.c.status != "canceled")
            )
            assert row.stock >= 0
            assert row.stock + sold == start, (sku_id, row.stock, sold, start)
            assert row.sales == sold, (sku_id, row.sales, sold)
        lineless = await session.scalar(
            select(func.count())
            .select_from(orders)
            .where(~orders.c.order_id.in_(select(order_lines.c.order_id)))
        )
        assert lineless == 0, f"{lineless} orders without lines"


@contextlib.asynccontextmanager
async def running_shop(settings: OrderSettings):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://order.test", timeout=60
        ) as client:
            yield Shop(app, client)


@pytest.fixture
async def make_shop(pg_databases, redis_url):
    """`shop = await make_shop(**setting_overrides)`: a fresh database each call."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(**overrides) -> Shop:
            url = overrides.pop("database_url", None) or await migrated_database(pg_databases)
            redis = overrides.pop("redis_url", redis_url)
            settings = order_settings(url, redis, **overrides)
            return await stack.enter_async_context(running_shop(settings))

        yield make


@pytest.fixture(scope="module")
async def shop(pg_databases):
    """One app and database shared by a module's API tests (each test makes its own buyers)."""
    from tests.support.servers import fresh_redis_url

    url = await migrated_database(pg_databases)
    async with running_shop(order_settings(url, await fresh_redis_url())) as running:
        yield running


@pytest.fixture(scope="module")
async def payment_service(pg_databases, tmp_path_factory):
    """The real payment service as a process, its Alipay gateway pointing at a closed port.

    Enough for closing orders that never got a payment link (it answers `closed` without asking
    Alipay) and for making pay links (signed locally); anything that needs Alipay answers 503.
    """
    keys = tmp_path_factory.mktemp("keys")
    app, alipay = write_key_pair(keys, "app"), write_key_pair(keys, "alipay")
    port = free_port()
    env = {
        "APP_ENV": "test",
        "SERVICE_AUTH_SECRET": SERVICE_SECRET,
        "PAYMENT_DATABASE_URL": await pg_databases.create("order_side_payment"),
        "PAYMENT_ORDER_SERVICE_URL": closed_port_url(),
        "PAYMENT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ALIPAY_APP_ID": "2021000000000001",
        "ALIPAY_APP_PRIVATE_KEY": str(app.private_path),
        "ALIPAY_PUBLIC_KEY": str(alipay.public_path),
        "ALIPAY_GATEWAY_URL": f"{closed_port_url()}/gateway.do",
        "ALIPAY_TIMEOUT_SECONDS": "2",
    }
    await asyncio.to_thread(run_module, "payment_service", "migrate", env=env)
    process = ServiceProcess("payment_service.main:app", env, "order-tests-payment", port)
    await asyncio.to_thread(process.start)
    yield process
    await asyncio.to_thread(process.stop)
