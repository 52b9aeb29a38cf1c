"""An expiry backlog: how long the order service's sweeper takes to release it.

    python -m bench expiry [--orders 10000] [--order-processes 2] [--payment-processes 2] [--json]

Real uvicorn processes on throwaway PostgreSQL databases (set up by bench/stack.py): the order
service, the payment service and the Alipay emulator (its gateway, so every close is a real
`alipay.trade.close`). Set-up (not timed): `--orders` unpaid Alipay orders placed through the
checkout, each with its pay link, each link opened at the emulator's gateway and the buyer
logged in at its cashier, so that every order has an open trade there (WAIT_BUYER_PAY; the
emulator, as Alipay, creates the trade at the log-in, not when the cashier opens). The order
service then stops, every order's pay_deadline is moved into the past in the order database (the
emulator's own time limit is 30 minutes away, so it closes nothing itself), and the order
service starts again with the default sweeper settings.

Timed: from the order service's start (its processes' start-up counted: the sweeper starts with
the lifespan) until no order is unpaid, every order cancelled with its stock back, every
payment closed. Then (not timed) every trade is checked at the emulator: it must be
TRADE_CLOSED. The target (issue 10, item 8) is 10,000 orders in 60 s or less on the 2-core
development machine.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from bench.checkout import register_buyers
from bench.stack import APP_ID, SELLER_ID, SKUS, plain, prepare_stack
from tests.support.cashier import log_in_async
from tests.support.processes import ServiceProcess, free_port
from tests.support.servers import PostgresDatabases

BUYERS = 16
SETUP_IN_FLIGHT = 16
SETUP_ATTEMPTS = 5
TARGET_SECONDS = 60.0


class Bench:
    def __init__(self, orders: int, order_processes: int, payment_processes: int, workdir: Path):
        self.order_count = orders
        self.order_processes = order_processes
        self.payment_processes = payment_processes
        self.workdir = workdir
        self.databases = PostgresDatabases()
        self.services: list[ServiceProcess] = []

    async def prepare(self) -> None:
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        stack = await prepare_stack(
            self.databases, self.workdir, "bench_exp", f"{sandbox_url}/gateway.do"
        )
        self.order_port, self.order_env = stack.order_port, stack.order_env
        self.order_db, self.payment_db = stack.order_db, stack.payment_db
        sandbox_env = {
            "APP_ENV": "test",
            "LOG_JSON": "true",
            "SANDBOX_PRIVATE_KEY": stack.alipay.private_pem,
            "SANDBOX_APP_ID": APP_ID,
            "SANDBOX_APP_PUBLIC_KEY": stack.app.public_pem,
            "SANDBOX_SELLER_ID": SELLER_ID,
            "SANDBOX_PUBLIC_URL": sandbox_url,
        }
        self.sandbox = self._start(
            "alipay_sandbox.main:app", sandbox_env, "bench-exp-sandbox", 1, sandbox_port
        )
        self._start(
            "payment_service.main:app",
            stack.payment_env,
            "bench-exp-payment",
            self.payment_processes,
            stack.payment_port,
        )
        # set-up: the sweeper waits an hour (it ran once at start-up, on no orders)
        setup_env = self.order_env | {"ORDER_SWEEP_INTERVAL_SECONDS": "3600"}
        self.order = self._start(
            "order_service.main:app", setup_env, "bench-exp-order-setup", 1, self.order_port
        )
        started = time.monotonic()
        buyers = await register_buyers(self.order.url, BUYERS)
        self.order_ids = await self._place_orders_with_open_trades(buyers)
        print(
            f"# set-up: {len(self.order_ids)} unpaid Alipay orders, each with an open trade at "
            f"the emulator, in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        self.order.stop()
        self.services.remove(self.order)

    def _start(self, target: str, env: dict, name: str, workers: int, port: int):
        process = ServiceProcess(target, env, name, port=port, workers=workers)
        self.services.append(process.start())
        return process

    async def _place_orders_with_open_trades(self, buyers: list[str]) -> list[str]:
        queue = [(n, buyers[n % len(buyers)].split()) for n in range(self.order_count)]
        placed: list[str] = []

        async def worker(http: httpx.AsyncClient) -> None:
            while queue:
                n, (token, address) = queue.pop()
                headers = {"Authorization": f"Bearer {token}"}
                items = [{"sku_id": n % SKUS + 1, "count": 1 + n % 3}]
                response = await http.post(
                    "/api/orders",
                    headers=headers,
                    json={"address_id": int(address), "pay_method": "alipay", "items": items},
                )
                require_status(response, 201, "placing an order")
                order_id = response.json()["order_id"]
                for _ in range(SETUP_ATTEMPTS):  # a loaded machine: the set-up is not measured
                    link = await http.post(f"/api/orders/{order_id}/payment", headers=headers)
                    if link.status_code != 503:
                        break
                    await asyncio.sleep(1)
                require_status(link, 200, "a pay link")
                # the buyer at the cashier, logging in: the trade exists at Alipay from then on
                cashier = await log_in_async(http, link.json()["pay_url"])
                require_status(cashier, 200, "logging in at the cashier")
                placed.append(order_id)

        async with httpx.AsyncClient(base_url=self.order.url, timeout=60) as http:
            await asyncio.gather(*(worker(http) for _ in range(SETUP_IN_FLIGHT)))
        return placed

    async def run(self) -> dict:
        conn = await asyncpg.connect(plain(self.order_db))
        try:
            await conn.execute(
                "UPDATE orders SET pay_deadline = now() - interval '1 second'"
                " WHERE status = 'unpaid'"
            )
            started = time.monotonic()
            self.order = self._start(
                "order_service.main:app",
                self.order_env,
                "bench-exp-order",
                self.order_processes,
                self.order_port,
            )
            ready = time.monotonic() - started  # the sweeper starts with the lifespan, before
            while True:
                unpaid = await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'unpaid'")
                if unpaid == 0:
                    break
                if time.monotonic() - started > 20 * TARGET_SECONDS:
                    raise SystemExit(f"{unpaid} orders still unpaid after {20 * TARGET_SECONDS} s")
                await asyncio.sleep(0.2)
            seconds = time.monotonic() - started
            canceled = await conn.fetchval(
                "SELECT count(*) FROM orders"
                " WHERE status = 'canceled' AND cancel_reason = 'expired'"
            )
        finally:
            await conn.close()
        conn = await asyncpg.connect(plain(self.payment_db))
        try:
            closed = await conn.fetchval("SELECT count(*) FROM payments WHERE status = 'closed'")
        finally:
            await conn.close()
        statuses = await self._trade_statuses()
        return {
            "orders": len(self.order_ids),
            "seconds": round(seconds, 1),
            "of_which_start_up_seconds": round(ready, 1),
            "orders_per_second": round(len(self.order_ids) / seconds, 1),
            "target_seconds": TARGET_SECONDS * len(self.order_ids) / 10_000,
            "canceled_expired": canceled,
            "payments_closed": closed,
            "emulator_trades": statuses,
        }

    async def _trade_statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        queue = list(self.order_ids)

        async def worker(http: httpx.AsyncClient) -> None:
            while queue:
                order_id = queue.pop()
                response = await http.get(f"/sandbox/trades/{order_id}")
                status = response.json().get("status", str(response.status_code))
                counts[status] = counts.get(status, 0) + 1

        async with httpx.AsyncClient(base_url=self.sandbox.url, timeout=60) as http:
            await asyncio.gather(*(worker(http) for _ in range(SETUP_IN_FLIGHT)))
        return counts

    async def close(self) -> None:
        for service in self.services:
            service.stop()
        await self.databases.drop_all()


def require_status(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise SystemExit(f"{what}: {response.status_code} {response.text[:300]}")


async def measure(args) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        bench = Bench(args.orders, args.order_processes, args.payment_processes, Path(workdir))
        try:
            await bench.prepare()
            return await bench.run()
        finally:
            await bench.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench expiry")
    parser.add_argument("--orders", type=int, default=10_000, help="expired orders to release")
    parser.add_argument("--order-processes", type=int, default=2)
    parser.add_argument("--payment-processes", type=int, default=2)  # the README's recommendation
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    if not args.json:
        print(
            f"expiry backlog: {args.orders} expired Alipay orders with open trades at the "
            f"emulator; order service {args.order_processes} processes (default sweeper "
            f"settings), payment service {args.payment_processes}, emulator 1; "
            f"{os.cpu_count()} cores shared",
            flush=True,
        )
    result = asyncio.run(measure(args))
    if args.json:
        print(json.dumps(result))
        return
    ok = result["canceled_expired"] == result["orders"] == result["payments_closed"] and result[
        "emulator_trades"
    ] == {"TRADE_CLOSED": result["orders"]}
    print(
        f"released {result['orders']} in {result['seconds']} s "
        f"({result['orders_per_second']}/s, counting the order service's start-up of "
        f"{result['of_which_start_up_seconds']} s; target <= {result['target_seconds']:g} s); "
        f"cancelled {result['canceled_expired']}, payments closed {result['payments_closed']}, "
        f"trades at the emulator {result['emulator_trades']}; books {'hold' if ok else 'WRONG'}",
        flush=True,
    )
    if not ok:
        raise SystemExit(1)
