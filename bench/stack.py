"""The set-up the end-to-end benchmarks share (`python -m bench payment`, `… expiry`).

Throwaway PostgreSQL databases for the order and the payment service, a key pair for the
application and one for "Alipay", each service's environment naming the other (and the gateway
the payment service calls), both databases migrated and the benchmark catalog loaded. Which
processes then run, and how many, is each benchmark's own business.
"""

import asyncio
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from tests.support.keys import KeyPairFiles, write_key_pair
from tests.support.processes import free_port, run_module
from tests.support.servers import PostgresDatabases, fresh_redis_url
from tests.support.stack import plain_dsn

APP_ID = "2021000000000001"
SELLER_ID = "2088000000000001"
SKUS = 90
plain = plain_dsn  # a database URL as asyncpg takes it


def catalog() -> list[dict]:
    return [
        {
            "id": n,
            "name": f"bench item {n}",
            "goods": f"bench goods {n % 30}",
            "price": f"{n % 50 + 1}.{n % 100:02d}",
            "stock": 100_000_000,
        }
        for n in range(1, SKUS + 1)
    ]


@dataclass
class Stack:
    order_port: int
    payment_port: int
    order_db: str
    payment_db: str
    app: KeyPairFiles  # the application's key pair (signs our requests to Alipay)
    alipay: KeyPairFiles  # "Alipay's" key pair (the emulator signs with it; bench notifies too)
    secret: str  # SERVICE_AUTH_SECRET of both services
    order_env: dict[str, str]
    payment_env: dict[str, str]

    @property
    def order_url(self) -> str:
        return f"http://127.0.0.1:{self.order_port}"

    @property
    def payment_url(self) -> str:
        return f"http://127.0.0.1:{self.payment_port}"


async def prepare_stack(
    databases: PostgresDatabases, workdir: Path, name: str, gateway_url: str
) -> Stack:
    """Databases `{name}_order` and `{name}_payment`, migrated, the catalog loaded; the payment
    service calls Alipay at `gateway_url`. The order service may hold any number of unpaid
    orders per buyer and does not limit log-ins per address (every buyer is 127.0.0.1)."""
    app = write_key_pair(workdir, "app")
    alipay = write_key_pair(workdir, "alipay")
    order_db = await databases.create(f"{name}_order")
    payment_db = await databases.create(f"{name}_payment")
    order_port, payment_port = free_port(), free_port()
    order_url = f"http://127.0.0.1:{order_port}"
    payment_url = f"http://127.0.0.1:{payment_port}"
    secret = secrets.token_urlsafe(32)
    common = {"APP_ENV": "test", "LOG_JSON": "true", "SERVICE_AUTH_SECRET": secret}
    order_env = common | {
        "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
        # every buyer registers from 127.0.0.1: the per-address log-in limit is off
        "ORDER_CLIENT_RATE_LIMIT": "0",
        # each buyer holds many unpaid Alipay orders
        "ORDER_MAX_UNPAID_ORDERS": "0",
        "ORDER_DATABASE_URL": order_db,
        "ORDER_REDIS_URL": await fresh_redis_url(),
        "ORDER_PAYMENT_SERVICE_URL": payment_url,
    }
    payment_env = common | {
        "PAYMENT_DATABASE_URL": payment_db,
        "PAYMENT_ORDER_SERVICE_URL": order_url,
        "PAYMENT_PUBLIC_URL": payment_url,
        "PAYMENT_SPA_RESULT_URL": f"{order_url}/",
        "PAYMENT_RECONCILE_INTERVAL_SECONDS": "3600",
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_APP_PRIVATE_KEY": str(app.private_path),
        "ALIPAY_PUBLIC_KEY": str(alipay.public_path),
        "ALIPAY_GATEWAY_URL": gateway_url,
        "ALIPAY_SELLER_ID": SELLER_ID,
    }
    catalog_file = workdir / "catalog.json"
    catalog_file.write_text(json.dumps(catalog()))
    await asyncio.gather(
        asyncio.to_thread(run_module, "order_service", "migrate", env=order_env),
        asyncio.to_thread(run_module, "payment_service", "migrate", env=payment_env),
    )
    run_module("order_service", "load-catalog", str(catalog_file), env=order_env)
    return Stack(
        order_port, payment_port, order_db, payment_db, app, alipay, secret, order_env, payment_env
    )
