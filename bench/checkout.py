"""Checkout under load: cash orders against the order service as real uvicorn processes
(1 worker each) on a throwaway PostgreSQL database and a Redis db.

    python -m bench.checkout [--seconds 10] [--concurrency 32] [--users 32] [--json]

Scenarios, each for `--seconds` with `--concurrency` requests in flight from one httpx client:
  spread    1-3 random SKUs (1-2 units each) out of 1000, large stock: little contention;
  hot       1 unit of the SAME SKU per order: every checkout races for one row;
  hot-2proc the same against 2 order-service processes (round-robin) on the same database.
After each run: for every SKU, initial stock == stock + units in order lines == stock + units
the client was answered 201 for (and sales agree), or the benchmark fails.
The client, both services, PostgreSQL and Redis all share this machine's cores.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis

from tests.support.processes import ServiceProcess, free_port, run_module
from tests.support.servers import PostgresDatabases, fresh_redis_url

SPREAD_SKUS = 1000
HOT_SKU = SPREAD_SKUS + 1
INITIAL_STOCK = 10_000_000
CATALOG = [
    {"id": n, "name": f"bench sku {n}", "price": "9.90", "stock": INITIAL_STOCK}
    for n in range(1, HOT_SKU + 1)
]
ADDRESS = {
    "receiver": "Li Lei",
    "mobile": "13800138000",
    "province": "Zhejiang",
    "city": "Hangzhou",
    "district": "Xihu",
    "place": "1 Wensan Road",
}


def spread_items() -> list[dict]:
    return [
        {"sku_id": sku, "count": random.randint(1, 2)}
        for sku in random.sample(range(1, SPREAD_SKUS + 1), random.randint(1, 3))
    ]


def hot_items() -> list[dict]:
    return [{"sku_id": HOT_SKU, "count": 1}]


SCENARIOS = {"spread": (spread_items, 1), "hot": (hot_items, 1), "hot-2proc": (hot_items, 2)}


def order_service_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "LOG_JSON": "true",
        "SERVICE_AUTH_SECRET": secrets.token_urlsafe(32),
        "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
        "ORDER_DATABASE_URL": database_url,
        "ORDER_REDIS_URL": redis_url,
        # cash orders never call the payment service: a closed port is enough
        "ORDER_PAYMENT_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
    }


async def new_buyer(http: httpx.AsyncClient, url: str) -> tuple[dict, int]:
    credentials = {
        "username": f"bench{secrets.token_hex(6)}",
        "password": secrets.token_urlsafe(12),
    }
    (await http.post(f"{url}/api/auth/register", json=credentials)).raise_for_status()
    token = (await http.post(f"{url}/api/auth/token", data=credentials)).raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    address = await http.post(f"{url}/api/addresses", headers=headers, json=ADDRESS)
    return headers, address.raise_for_status().json()["id"]


async def run_scenario(http, urls, buyers, make_items, seconds, concurrency, sold: Counter):
    latencies: list[float] = []
    outcomes: Counter = Counter()
    requests = iter(range(10**12))  # shared: round-robin over the service processes
    deadline = time.perf_counter() + seconds

    async def worker(headers, address_id):
        while time.perf_counter() < deadline:
            items = make_items()
            url = urls[next(requests) % len(urls)]
            started = time.perf_counter()
            response = await http.post(
                f"{url}/api/orders",
                headers=headers,
                json={"address_id": address_id, "pay_method": "cash", "items": items},
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code == 201:
                outcomes["201"] += 1
                sold.update({line["sku_id"]: line["count"] for line in items})
            else:
                is_problem = "json" in response.headers.get("content-type", "")
                code = response.json().get("code") if is_problem else response.text[:40]
                outcomes[f"{response.status_code} {code}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(*buyers[n % len(buyers)]) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "orders_per_s": outcomes["201"] / elapsed,
        "requests": len(latencies),
        "p50_ms": cuts[49] * 1000,
        "p95_ms": cuts[94] * 1000,
        "p99_ms": cuts[98] * 1000,
        "outcomes": dict(outcomes),
    }


async def check_stock(dsn: str, sold: Counter) -> dict:
    """Fails loudly unless every SKU's initial stock == stock + sold (lines, sales, client)."""
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT s.id, s.stock, s.sales, coalesce(sum(l.count), 0) AS lines"
            " FROM skus s LEFT JOIN order_lines l ON l.sku_id = s.id GROUP BY s.id"
        )
    finally:
        await conn.close()
    bad = [
        dict(r) | {"client": sold[r["id"]]}
        for r in rows
        if not (
            r["stock"] + r["lines"] == INITIAL_STOCK and r["sales"] == r["lines"] == sold[r["id"]]
        )
    ]
    if len(rows) != len(CATALOG) or bad:
        raise SystemExit(f"STOCK CHECK FAILED ({len(rows)} skus): {bad[:5]}")
    stock, lines = sum(r["stock"] for r in rows), sum(r["lines"] for r in rows)
    hot = next(r for r in rows if r["id"] == HOT_SKU)
    return {
        "stock": stock,
        "sold": lines,
        "initial": INITIAL_STOCK * len(rows),
        "hot_stock": hot["stock"],
        "hot_sold": hot["lines"],
    }


async def measure(seconds: float, concurrency: int, users: int, quiet: bool) -> list[dict]:
    databases, redis_url = PostgresDatabases(), await fresh_redis_url()
    database_url = await databases.create("bench_checkout")
    env = order_service_env(database_url, redis_url)
    services: list[ServiceProcess] = []
    try:
        with tempfile.TemporaryDirectory() as workdir:
            catalog = Path(workdir) / "catalog.json"
            catalog.write_text(json.dumps(CATALOG))
            run_module("order_service", "migrate", env=env)
            run_module("order_service", "load-catalog", str(catalog), env=env)
        for n in range(2):
            services.append(ServiceProcess("order_service.main:app", env, f"bench-order{n}"))
        await asyncio.gather(*(asyncio.to_thread(s.start) for s in services))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            gate = asyncio.Semaphore(8)  # argon2 hashing: do not swamp the service

            async def buyer():
                async with gate:
                    return await new_buyer(http, services[0].url)

            buyers = await asyncio.gather(*(buyer() for _ in range(users)))
            sold: Counter = Counter()
            results = []
            for name, (make_items, processes) in SCENARIOS.items():
                urls = [s.url for s in services[:processes]]
                result = await run_scenario(
                    http, urls, buyers, make_items, seconds, concurrency, sold
                )
                result |= {
                    "scenario": name,
                    "processes": processes,
                    "stock_check": await check_stock(database_url, sold),
                }
                results.append(result)
                if not quiet:
                    print_result(result)
        return results
    finally:
        await asyncio.gather(*(asyncio.to_thread(s.stop) for s in services))
        await databases.drop_all()
        client = aioredis.from_url(redis_url)
        await client.flushdb()
        await client.aclose()


def print_result(r: dict) -> None:
    check = r["stock_check"]
    print(
        f"{r['scenario']:10} {r['processes']} proc {r['orders_per_s']:7.1f} orders/s  "
        f"p50 {r['p50_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
        f"outcomes {r['outcomes']}"
    )
    print(
        f"{'':10} stock check OK: stock {check['stock']} + sold {check['sold']} == initial "
        f"{check['initial']} (hot sku: stock {check['hot_stock']} + sold {check['hot_sold']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout")
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--users", type=int, default=32, help="buyers registered first")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    if not args.json:
        print(
            f"cash checkouts, {args.concurrency} in flight, {args.seconds:g} s per scenario, "
            f"{args.users} buyers; uvicorn 1 worker per process; {os.cpu_count()} cores "
            "shared by client, services, PostgreSQL and Redis"
        )
    results = asyncio.run(measure(args.seconds, args.concurrency, args.users, args.json))
    if args.json:
        print(json.dumps(results, indent=2))
    unexpected = {
        k: v
        for r in results
        for k, v in r["outcomes"].items()
        if k not in ("201", "409 stock_contention")
    }
    if unexpected:
        raise SystemExit(f"unexpected answers: {unexpected}; see test-artifacts/logs/bench-order*")


if __name__ == "__main__":
    main()
