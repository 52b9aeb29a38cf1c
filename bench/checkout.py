"""Checkout under load, quoted against PostgreSQL's own limit measured in the same run.

    python -m bench checkout [--seconds 10] [--only NAME ...] [--json] [--markdown]

Cash orders (`POST /api/orders`, explicit items) from `wrk` (bench/lua/orders.lua) against real
uvicorn processes of the order service on a throwaway PostgreSQL database. Scenarios:

  spread-N     three SKUs per order, one from each third of 1000 (as pg_limit_order.sql), N in
               flight, against the recommended process count for this machine;
  hot-N-Pp     one unit of the same SKU per order, N in flight, P processes;
  bouncer-16   spread through PgBouncer in transaction mode, 4 processes.

Each scenario is preceded by pgbench running the tutorial's SQL (`bench/pg/`) at the same
concurrency, and prints: rate, pgbench rate, ratio, p50/p99, service CPU per order, and every
answer that was not 2xx. After each, the books must balance or the benchmark fails: every SKU's
stock + ordered units == initial stock, SKU sales == ordered units (a goods' sales are the
sum of its SKUs'), and the orders in the database == the 201 answers (+ at most those cut off
in flight when wrk stopped).
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import httpx

from bench.load import (
    LoadResult,
    cpu_seconds,
    load_yardstick_schema,
    pgbench_tps,
    require,
    run_wrk,
)
from tests.support.data import ADDRESS
from tests.support.processes import ServiceProcess, free_port, run_module
from tests.support.servers import PG_HOST, PG_PORT, PG_USER, PostgresDatabases, fresh_redis_url

# What the README recommends for a 2-core machine (one uvicorn worker per core).
RECOMMENDED_PROCESSES = 2
SPREAD_SKUS = 1000
SPREAD_GOODS = 200
HOT_SKU = SPREAD_SKUS + 1
INITIAL_STOCK = 100_000_000
BUYERS = 64


@dataclass(frozen=True)
class Scenario:
    name: str
    mode: str  # orders.lua's MODE
    processes: int
    concurrency: int
    yardstick: str | None  # bench/pg script; None where pgbench cannot open that many clients
    through_bouncer: bool = False


SCENARIOS = [
    Scenario("spread-16", "spread", RECOMMENDED_PROCESSES, 16, "pg_limit_order.sql"),
    Scenario("spread-64", "spread", RECOMMENDED_PROCESSES, 64, "pg_limit_order.sql"),
    Scenario("hot-16-1p", f"hot:{HOT_SKU}", 1, 16, "pg_limit_hot.sql"),
    Scenario("hot-64-1p", f"hot:{HOT_SKU}", 1, 64, "pg_limit_hot.sql"),
    Scenario("hot-256-1p", f"hot:{HOT_SKU}", 1, 256, None),
    Scenario("hot-16-2p", f"hot:{HOT_SKU}", 2, 16, "pg_limit_hot.sql"),
    Scenario("hot-64-2p", f"hot:{HOT_SKU}", 2, 64, "pg_limit_hot.sql"),
    Scenario("hot-256-2p", f"hot:{HOT_SKU}", 2, 256, None),
    Scenario("bouncer-16", "spread", 4, 16, "pg_limit_order.sql", through_bouncer=True),
]


def catalog() -> list[dict]:
    spread = [
        {
            "id": n,
            "name": f"bench sku {n}",
            "goods": f"bench goods {n % SPREAD_GOODS}",
            "price": "9.90",
            "stock": INITIAL_STOCK,
        }
        for n in range(1, SPREAD_SKUS + 1)
    ]
    hot = {"id": HOT_SKU, "name": "flash sale", "price": "1.00", "stock": INITIAL_STOCK}
    return [*spread, hot]


def order_service_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "LOG_JSON": "true",
        "SERVICE_AUTH_SECRET": secrets.token_urlsafe(32),
        "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
        # every buyer registers from 127.0.0.1: the per-address log-in limit is off
        "ORDER_CLIENT_RATE_LIMIT": "0",
        "ORDER_DATABASE_URL": database_url,
        "ORDER_REDIS_URL": redis_url,
        # cash orders never call the payment service: a closed port is enough
        "ORDER_PAYMENT_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
    }


async def register_buyers(url: str, count: int) -> list[str]:
    """`count` buyers, each logged in with an address: lines "token address_id"."""
    gate = asyncio.Semaphore(4)  # argon2 hashing: do not swamp the service

    async def buyer(http: httpx.AsyncClient) -> str:
        credentials = {"username": f"bench{secrets.token_hex(6)}", "password": "bench-Pa55word!"}
        async with gate:
            (await http.post("/api/auth/register", json=credentials)).raise_for_status()
            token = (await http.post("/api/auth/token", data=credentials)).raise_for_status()
        access = token.json()["access_token"]
        headers = {"Authorization": f"Bearer {access}"}
        address = await http.post("/api/addresses", headers=headers, json=ADDRESS)
        return f"{access} {address.raise_for_status().json()['id']}"

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        return await asyncio.gather(*(buyer(http) for _ in range(count)))


async def check_books(dsn: str, answered_201: int, slack: int) -> dict:
    """Fails loudly unless stock, sales and orders balance (see the module's docstring)."""
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        bad_skus = await conn.fetch(
            "SELECT s.id, s.stock, s.sales, coalesce(sum(l.count), 0) AS lines FROM skus s"
            " LEFT JOIN order_lines l ON l.sku_id = s.id GROUP BY s.id"
            " HAVING s.stock + coalesce(sum(l.count), 0) <> $1"
            " OR s.sales <> coalesce(sum(l.count), 0)",
            INITIAL_STOCK,
        )
        orders = await conn.fetchval("SELECT count(*) FROM orders")
        sold = await conn.fetchval("SELECT coalesce(sum(count), 0) FROM order_lines")
    finally:
        await conn.close()
    if bad_skus or not answered_201 <= orders <= answered_201 + slack:
        raise SystemExit(
            f"BOOKS DO NOT BALANCE: skus {[dict(r) for r in bad_skus[:5]]}, "
            f"orders {orders} vs 201s {answered_201}"
        )
    return {"orders": orders, "units_sold": sold}


class PgBouncer:
    """PgBouncer in transaction pooling mode in front of the test PostgreSQL, on a free port."""

    def __init__(self, workdir: Path, database: str):
        self.port = free_port()
        home = workdir / "pgbouncer"
        home.mkdir(exist_ok=True)
        (home / "users.txt").write_text(f'"{PG_USER}" ""\n')
        ini = home / "pgbouncer.ini"
        ini.write_text(
            f"[databases]\n{database} = host={PG_HOST} port={PG_PORT} dbname={database}\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"auth_type = trust\nauth_file = {home}/users.txt\npool_mode = transaction\n"
            f"default_pool_size = 20\nmax_client_conn = 1000\nunix_socket_dir =\n"
            f"logfile = {home}/pgbouncer.log\n"
        )
        command = [require("pgbouncer"), "-q", str(ini)]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            workdir.chmod(0o755)
            shutil.chown(home, "postgres")
            command[1:1] = ["-u", "postgres"]
        self.process = subprocess.Popen(command)
        self._wait_listening()

    def _wait_listening(self) -> None:
        for _ in range(50):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit(f"pgbouncer did not start (exit {self.process.poll()})")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@dataclass
class Measured:
    scenario: str
    processes: int
    concurrency: int
    rate: float
    pgbench_tps: float | None
    p50_ms: float
    p99_ms: float
    cpu_ms_per_order: float
    failures: dict[str, int]
    books: dict

    @property
    def ratio(self) -> float | None:
        return self.rate / self.pgbench_tps if self.pgbench_tps else None


class Bench:
    def __init__(self, seconds: float, workdir: Path):
        self.seconds = seconds
        self.workdir = workdir
        self.databases = PostgresDatabases()
        self.answered_201 = 0
        self.cut_in_flight = 0  # orders wrk may have sent but not heard answered, all runs so far

    async def prepare(self) -> None:
        self.database_url = await self.databases.create("bench_checkout")
        yardstick_url = await self.databases.create("bench_pglimit")
        self.yardstick_db = yardstick_url.rsplit("/", 1)[1]
        load_yardstick_schema(self.yardstick_db)
        self.env = order_service_env(self.database_url, await fresh_redis_url())
        catalog_file = self.workdir / "catalog.json"
        catalog_file.write_text(json.dumps(catalog()))
        run_module("order_service", "migrate", env=self.env)
        run_module("order_service", "load-catalog", str(catalog_file), env=self.env)
        service = ServiceProcess("order_service.main:app", self.env, "bench-order").start()
        try:
            buyers = await register_buyers(service.url, BUYERS)
        finally:
            service.stop()
        self.buyers_file = self.workdir / "buyers.txt"
        self.buyers_file.write_text("\n".join(buyers) + "\n")

    async def run(self, scenario: Scenario) -> Measured:
        tps = None
        if scenario.yardstick:
            tps = pgbench_tps(
                self.yardstick_db, scenario.yardstick, scenario.concurrency, self.seconds
            )
        env, bouncer = dict(self.env), None
        if scenario.through_bouncer:
            database = self.database_url.rsplit("/", 1)[1]
            bouncer = PgBouncer(self.workdir, database)
            env["ORDER_DATABASE_URL"] = (
                f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{bouncer.port}/{database}"
            )
            env["ORDER_DB_TRANSACTION_POOLER"] = "true"
        service = ServiceProcess(
            "order_service.main:app", env, f"bench-{scenario.name}", workers=scenario.processes
        ).start()
        try:
            await self._warm_up(service.url)
            cpu_before = cpu_seconds(service.process.pid)
            load = await asyncio.to_thread(
                run_wrk,
                service.url,
                "orders.lua",
                [str(self.buyers_file), scenario.mode, str(SPREAD_SKUS)],
                scenario.concurrency,
                self.seconds,
            )
            cpu = cpu_seconds(service.process.pid) - cpu_before
        finally:
            service.stop()
            if bouncer:
                bouncer.stop()
        self.answered_201 += load.answers.get("201", 0)
        self.cut_in_flight += scenario.concurrency
        books = await check_books(self.database_url, self.answered_201, self.cut_in_flight)
        return self._measured(scenario, load, tps, cpu, books)

    async def _warm_up(self, url: str) -> None:
        """Let every worker open its pool before the clock starts."""
        async with httpx.AsyncClient(base_url=url) as http:
            await asyncio.gather(*(http.get("/readyz") for _ in range(16)))

    def _measured(self, scenario, load: LoadResult, tps, cpu: float, books) -> Measured:
        return Measured(
            scenario=scenario.name,
            processes=scenario.processes,
            concurrency=scenario.concurrency,
            rate=load.rate,
            pgbench_tps=tps,
            p50_ms=load.p50_ms,
            p99_ms=load.p99_ms,
            cpu_ms_per_order=cpu * 1000 / max(load.ok, 1),
            failures=load.failures()
            | ({"socket": load.socket_errors} if load.socket_errors else {}),
            books=books,
        )


def markdown_table(results: list[Measured]) -> str:
    """The README's table."""
    lines = [
        "| scenario | processes | in flight | orders/s | pgbench tps | ratio | p50 | p99 "
        "| CPU per order | not 2xx |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        tps = f"{m.pgbench_tps:.0f}" if m.pgbench_tps else "–"
        ratio = f"**{m.ratio:.2f}×**" if m.ratio else "–"
        lines.append(
            f"| {m.scenario} | {m.processes} | {m.concurrency} | {m.rate:.0f} | {tps} | {ratio} "
            f"| {m.p50_ms:.0f} ms | {m.p99_ms:.0f} ms | {m.cpu_ms_per_order:.2f} ms "
            f"| {sum(m.failures.values()) or 'none'} |"
        )
    return "\n".join(lines)


def print_line(m: Measured) -> None:
    yardstick = f"{m.pgbench_tps:7.0f}  {m.ratio:5.2f}x" if m.pgbench_tps else f"{'-':>7}  {'-':>6}"
    print(
        f"{m.scenario:11} {m.processes}p {m.concurrency:4} | {m.rate:7.0f} | {yardstick} | "
        f"{m.p50_ms:6.1f} {m.p99_ms:7.1f} | {m.cpu_ms_per_order:5.2f} | "
        f"{m.failures or 'none'} | orders {m.books['orders']}",
        flush=True,
    )


async def measure(seconds: float, only: list[str], as_json: bool) -> list[Measured]:
    chosen = [s for s in SCENARIOS if not only or s.name in only]
    with tempfile.TemporaryDirectory() as workdir:
        bench = Bench(seconds, Path(workdir))
        try:
            await bench.prepare()
            if not as_json:
                print(
                    "scenario    proc  in | orders/s | pgbench  ratio |  p50 ms  p99 ms |"
                    " CPU ms/order | not 2xx | books"
                )
            results = []
            for scenario in chosen:
                results.append(await bench.run(scenario))
                if not as_json:
                    print_line(results[-1])
            return results
        finally:
            await bench.databases.drop_all()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench checkout")
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument("--only", nargs="*", default=[], help="scenario names")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--markdown", action="store_true", help="also print the README's table")
    args = parser.parse_args()
    if not args.json:
        print(
            f"cash checkouts, wrk 1 thread, {args.seconds:g} s per run; pgbench -j1 at the same "
            f"concurrency just before; {os.cpu_count()} cores shared by wrk, the services, "
            "PostgreSQL and Redis"
        )
    results = asyncio.run(measure(args.seconds, args.only, args.json))
    if args.json:
        print(json.dumps([asdict(r) | {"ratio": r.ratio} for r in results], indent=2))
    if args.markdown:
        print(markdown_table(results))
    failed = {r.scenario: r.failures for r in results if r.failures}
    if failed:
        raise SystemExit(f"answers that were not 2xx: {failed}; see test-artifacts/logs/bench-*")


if __name__ == "__main__":
    main()
