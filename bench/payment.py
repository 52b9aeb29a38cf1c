"""The payment path under load: signed pay links through the order service, and Alipay notifies.

    python -m bench payment [--seconds 10] [--orders 12000] [--payment-processes 2]
                            [--only NAME ...] [--json]

Real uvicorn processes on throwaway PostgreSQL databases: the order service (the recommended 2
processes for this machine) and the payment service, which name each other. Alipay's gateway is
a closed port: a page-pay link is signed locally and needs no gateway call, and the reconciler,
the only other caller in these runs, is set to wait an hour. Load from `wrk` (one thread) with
bench/lua/links.lua and bench/lua/notifies.lua. Scenarios, in this order:

  links-16            `POST /api/orders/{id}/payment` for pre-made unpaid Alipay orders (placed
                      through the order service's checkout), each order once, as its owner: order
                      service -> signed internal call -> payment row -> RSA2-signed page-pay link;
  notifies-16, -64    `POST /alipay/notify`, one pre-signed TRADE_SUCCESS notify per payment,
                      each sent once, signed with the emulator's ("Alipay's") private key exactly
                      as alipay_sandbox/notifier.py signs them (fields of alipay_sandbox/messages
                      .py); verified, recorded, payment paid with its outbox event;
  notifies-16-repeat  the notifies already sent, again (Alipay's retries): `success`, recorded as
                      duplicates, nothing paid twice.

The payment service's outbox relay runs throughout, delivering "paid" events to the real order
service, so its cost is in the notify runs' numbers. Every answer that is not 2xx (for a
notify: not exactly `success`) fails the benchmark. Afterwards the books must hold: every paid
payment has exactly one `paid` notify and one outbox event, with the trade_no we signed for it;
paid payments == first-time `success` answers (+ at most the notifies cut off in flight); once
the relay has drained, the orders paid in the order database are exactly those payments, with
the same money.
"""

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import httpx

from bench.checkout import register_buyers
from bench.load import LoadResult, cpu_seconds, require, run_wrk
from bench.stack import APP_ID, SELLER_ID, SKUS, plain, prepare_stack
from shared.alipay_sign import NOTIFY_EXCLUDED, load_private_key, sign_bytes, signing_string
from tests.support.processes import ServiceProcess, free_port
from tests.support.servers import PostgresDatabases

ORDER_PROCESSES = 2  # the README's recommendation for a 2-core machine
BUYERS = 64
SETUP_IN_FLIGHT = 16
BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # links | notifies | repeats
    concurrency: int


SCENARIOS = [
    Scenario("links-16", "links", 16),
    Scenario("notifies-16", "notifies", 16),
    Scenario("notifies-64", "notifies", 64),
    Scenario("notifies-16-repeat", "repeats", 16),
]


@dataclass
class Measured:
    scenario: str
    concurrency: int
    rate: float  # answers per second that were what the scenario wants
    p50_ms: float
    p99_ms: float
    cpu_ms_order: float  # per answer, order-service processes
    cpu_ms_payment: float  # per answer, payment-service processes
    failures: dict[str, int]
    repeats: int = 0  # links asked twice / notifies sent twice when the pool ran out
    outbox_pending: int | None = None  # "paid" events not yet delivered when the run ended
    notes: dict = field(default_factory=dict)


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def notify_body(payment: dict, trade_no: str, private_key, now: datetime) -> str:
    """A TRADE_SUCCESS notify as the emulator sends it (messages.notify_fields, notifier._body)."""
    amount = f"{payment['amount']:.2f}"
    fields = {
        "notify_time": beijing(now),
        "notify_type": "trade_status_sync",
        "notify_id": secrets.token_hex(16) + "gj",
        "app_id": APP_ID,
        "auth_app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": trade_no,
        "out_trade_no": payment["out_trade_no"],
        "buyer_id": "2088102177846880",
        "buyer_logon_id": "buy***@sandbox.com",
        "seller_id": SELLER_ID,
        "seller_email": f"seller{SELLER_ID[-4:]}@sandbox.com",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": amount,
        "receipt_amount": amount,
        "invoice_amount": amount,
        "buyer_pay_amount": amount,
        "point_amount": "0.00",
        "subject": payment["subject"],
        "gmt_create": beijing(payment["created_at"]),
        "gmt_payment": beijing(now),
        "fund_bill_list": json.dumps(
            [{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
        ),
    }
    sign = sign_bytes(signing_string(fields, NOTIFY_EXCLUDED).encode("utf-8"), private_key)
    return urlencode({**fields, "sign_type": "RSA2", "sign": sign}, encoding="utf-8")


def trade_no_for(index: int) -> str:
    return f"2024010222001{index:015d}"


class Bench:
    def __init__(self, seconds: float, orders: int, payment_processes: int, workdir: Path):
        self.seconds = seconds
        self.order_count = orders
        self.payment_processes = payment_processes
        self.workdir = workdir
        self.databases = PostgresDatabases()
        self.services: list[ServiceProcess] = []
        self.next_notify = 1  # the notifies file's next fresh line (1-based)
        self.notify_lines = 0
        self.first_successes = 0  # first-time `success` answers, all runs
        self.cut_in_flight = 0  # notifies wrk may have sent without hearing the answer

    # -- set-up ---------------------------------------------------------------------------

    async def prepare(self) -> None:
        # pay links are signed locally; nothing in these runs calls the gateway
        dead_gateway = f"http://127.0.0.1:{free_port()}/gateway.do"
        stack = await prepare_stack(self.databases, self.workdir, "bench_pay", dead_gateway)
        self.alipay_key = load_private_key(stack.alipay.private_pem)
        self.order_db, self.payment_db = stack.order_db, stack.payment_db
        self.order_env, self.payment_env = stack.order_env, stack.payment_env
        order_port, payment_port, order_url = stack.order_port, stack.payment_port, stack.order_url
        self.order = ServiceProcess(
            "order_service.main:app",
            self.order_env,
            "bench-pay-order",
            port=order_port,
            workers=ORDER_PROCESSES,
        ).start()
        self.services.append(self.order)
        self.payment = ServiceProcess(
            "payment_service.main:app",
            self.payment_env,
            "bench-pay-payment",
            port=payment_port,
            workers=self.payment_processes,
        ).start()
        self.services.append(self.payment)
        started = time.monotonic()
        buyers = await register_buyers(order_url, BUYERS)
        self.orders = await self._place_orders(buyers)
        self.orders_file = self.workdir / "orders.txt"
        self.orders_file.write_text("".join(f"{token} {oid}\n" for token, oid in self.orders))
        print(
            f"# set-up: {len(self.orders)} unpaid Alipay orders of {BUYERS} buyers placed through "
            f"the checkout in {time.monotonic() - started:.0f} s",
            flush=True,
        )

    async def _place_orders(self, buyers: list[str]) -> list[tuple[str, str]]:
        """`order_count` Alipay orders (1-3 items each), through POST /api/orders."""
        queue = [(n, buyers[n % len(buyers)].split()) for n in range(self.order_count)]
        placed: list[tuple[int, str, str]] = []

        async def worker(http: httpx.AsyncClient) -> None:
            while queue:
                n, (token, address) = queue.pop()
                items = [
                    {"sku_id": (n * 7 + k * 31) % SKUS + 1, "count": 1 + k}
                    for k in range(n % 3 + 1)
                ]
                response = await http.post(
                    "/api/orders",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"address_id": int(address), "pay_method": "alipay", "items": items},
                )
                if response.status_code != 201:
                    raise SystemExit(f"placing an order: {response.status_code} {response.text}")
                placed.append((n, token, response.json()["order_id"]))

        async with httpx.AsyncClient(base_url=self.order.url, timeout=60) as http:
            await asyncio.gather(*(worker(http) for _ in range(SETUP_IN_FLIGHT)))
        return [(token, oid) for _, token, oid in sorted(placed)]

    async def _links_for_the_rest(self, start: int) -> None:
        """A payment for every order the links run did not reach (same route, not timed)."""
        rest = self.orders[start:]

        async def worker(http: httpx.AsyncClient) -> None:
            while rest:
                token, order_id = rest.pop()
                response = await http.post(
                    f"/api/orders/{order_id}/payment",
                    headers={"Authorization": f"Bearer {token}"},
                )
                if response.status_code != 200:
                    raise SystemExit(f"a pay link: {response.status_code} {response.text}")

        async with httpx.AsyncClient(base_url=self.order.url, timeout=60) as http:
            await asyncio.gather(*(worker(http) for _ in range(SETUP_IN_FLIGHT)))

    async def _sign_notifies(self) -> None:
        """One TRADE_SUCCESS notify per payment (in id order), a body per line."""
        conn = await asyncpg.connect(plain(self.payment_db))
        try:
            rows = await conn.fetch(
                "SELECT id, out_trade_no, amount, subject, created_at FROM payments"
                " WHERE status = 'created' ORDER BY id"
            )
        finally:
            await conn.close()
        started, now = time.monotonic(), datetime.now(UTC)
        self.trade_nos = {row["out_trade_no"]: trade_no_for(row["id"]) for row in rows}
        bodies = [
            notify_body(dict(row), trade_no_for(row["id"]), self.alipay_key, now) for row in rows
        ]
        self.notifies_file = self.workdir / "notifies.txt"
        self.notifies_file.write_text("\n".join(bodies) + "\n")
        self.notify_lines = len(bodies)
        print(
            f"# set-up: {len(bodies)} notifies signed with the emulator's key in "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )

    # -- runs -----------------------------------------------------------------------------

    async def run(self, scenario: Scenario) -> Measured:
        if scenario.kind == "links":
            return await self._run_links(scenario)
        if not self.notify_lines:
            await self._links_for_the_rest(0)
            await self._sign_notifies()
        return await self._run_notifies(scenario)

    async def _measure(self, script: str, args: list[str], concurrency: int):
        url = self.order.url if script == "links.lua" else self.payment.url
        before = [cpu_seconds(s.process.pid) for s in (self.order, self.payment)]
        load = await asyncio.to_thread(run_wrk, url, script, args, concurrency, self.seconds)
        after = [cpu_seconds(s.process.pid) for s in (self.order, self.payment)]
        return load, [b - a for a, b in zip(before, after, strict=True)]

    async def _run_links(self, scenario: Scenario) -> Measured:
        load, cpu = await self._measure(
            "links.lua", [str(self.orders_file), "page"], scenario.concurrency
        )
        repeats = sum(n for key, n in load.answers.items() if key == "repeat 200")
        await self._links_for_the_rest(min(len(self.orders), load.requests))
        return self._measured(scenario, load, cpu, repeats, allowed={"repeat 200"})

    async def _run_notifies(self, scenario: Scenario) -> Measured:
        if scenario.kind == "repeats":
            # only notifies already answered `success`: Alipay's retries of them
            sent = self.workdir / "notifies-sent.txt"
            lines = self.notifies_file.read_text().splitlines()[: self.first_successes]
            sent.write_text("\n".join(lines) + "\n")
            load, cpu = await self._measure("notifies.lua", [str(sent), "1"], scenario.concurrency)
            repeats = load.answers.get("repeat 200", 0)
            return self._measured(scenario, load, cpu, repeats, allowed={"repeat 200"})
        first = self.next_notify
        if first > self.notify_lines:
            raise SystemExit("no fresh notifies left: raise --orders")
        load, cpu = await self._measure(
            "notifies.lua", [str(self.notifies_file), str(first)], scenario.concurrency
        )
        self.first_successes += load.answers.get("200", 0)
        # the next run starts past every notify this one may have sent, answered or not
        self.next_notify = first + load.requests + scenario.concurrency
        self.cut_in_flight += scenario.concurrency
        repeats = sum(n for key, n in load.answers.items() if key.startswith("repeat"))
        measured = self._measured(scenario, load, cpu, repeats)
        measured.outbox_pending = await self._outbox_pending()
        if repeats:  # the pool ran out: those went to payments already paid (Alipay's retries)
            measured.notes["pool_ran_out"] = True
        return measured

    def _measured(
        self, scenario: Scenario, load: LoadResult, cpu: list[float], repeats: int, allowed=()
    ) -> Measured:
        ok = load.ok + sum(n for key, n in load.answers.items() if key in allowed)
        failures = {k: n for k, n in load.failures().items() if k not in allowed}
        if scenario.kind == "notifies":
            failures = {k: n for k, n in failures.items() if k != "repeat 200"}
        if load.socket_errors:
            failures["socket"] = load.socket_errors
        per = 1000 / max(ok, 1)
        return Measured(
            scenario=scenario.name,
            concurrency=scenario.concurrency,
            rate=load.rate if scenario.kind != "repeats" else ok / self.seconds,
            p50_ms=load.p50_ms,
            p99_ms=load.p99_ms,
            cpu_ms_order=cpu[0] * per,
            cpu_ms_payment=cpu[1] * per,
            failures=failures,
            repeats=repeats,
        )

    async def _outbox_pending(self) -> int:
        conn = await asyncpg.connect(plain(self.payment_db))
        try:
            return await conn.fetchval("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
        finally:
            await conn.close()

    # -- the books ------------------------------------------------------------------------

    async def check_books(self, drain_seconds: float) -> dict:
        """Fails loudly unless every paid payment was paid exactly once (see the docstring)."""
        drained_in = await self._wait_drained(drain_seconds)  # also lets cut-off requests end
        pay = await asyncpg.connect(plain(self.payment_db))
        try:
            twice = await pay.fetch(
                "SELECT out_trade_no, count(*) FROM notifies WHERE outcome = 'paid'"
                " GROUP BY out_trade_no HAVING count(*) > 1"
            )
            events_twice = await pay.fetch(
                "SELECT payload::jsonb->>'order_id' AS order_id, count(*) FROM outbox"
                " GROUP BY 1 HAVING count(*) > 1"
            )
            paid = await pay.fetch(
                "SELECT p.order_id, p.out_trade_no, p.trade_no, p.amount,"
                " (SELECT count(*) FROM notifies n WHERE n.out_trade_no = p.out_trade_no"
                "  AND n.outcome = 'paid') AS paid_notifies,"
                " (SELECT count(*) FROM outbox o WHERE o.payload::jsonb->>'order_id' = p.order_id)"
                "  AS events"
                " FROM payments p WHERE p.status = 'paid'"
            )
            outcomes = dict(
                await pay.fetch("SELECT outcome, count(*) FROM notifies GROUP BY outcome")
            )
        finally:
            await pay.close()
        problems = []
        if twice or events_twice:
            problems.append(f"paid twice: notifies {twice[:5]}, outbox events {events_twice[:5]}")
        wrong = [
            dict(r)
            for r in paid
            if r["paid_notifies"] != 1
            or r["events"] != 1
            or r["trade_no"] != self.trade_nos.get(r["out_trade_no"])
        ]
        if wrong:
            problems.append(f"paid payments without exactly one notify/event: {wrong[:5]}")
        if not self.first_successes <= len(paid) <= self.first_successes + self.cut_in_flight:
            problems.append(
                f"{len(paid)} payments paid for {self.first_successes} first-time `success` "
                f"answers (+ at most {self.cut_in_flight} in flight)"
            )
        orders = await asyncpg.connect(plain(self.order_db))
        try:
            paid_orders = await orders.fetch(
                "SELECT order_id, total_amount FROM orders WHERE status = 'unsent'"
            )
        finally:
            await orders.close()
        by_payment = {r["order_id"]: r["amount"] for r in paid}
        by_order = {r["order_id"]: r["total_amount"] for r in paid_orders}
        if drained_in is not None and by_order != by_payment:
            problems.append(
                f"order service paid {len(by_order)} orders ({sum(by_order.values())}), payment "
                f"service {len(by_payment)} payments ({sum(by_payment.values())})"
            )
        if problems:
            raise SystemExit("BOOKS DO NOT BALANCE: " + "; ".join(problems))
        return {
            "payments_paid": len(paid),
            "money_paid": str(sum(by_payment.values())),
            "orders_paid": len(by_order),
            "notify_outcomes": outcomes,
            "relay_drained_after_s": drained_in,
        }

    async def _wait_drained(self, seconds: float) -> float | None:
        """Seconds until the relay had delivered every event (None: not within `seconds`)."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if await self._outbox_pending() == 0:
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(0.5)
        return None

    async def close(self) -> None:
        for service in self.services:
            service.stop()
        await self.databases.drop_all()


HEADER = (
    "scenario            in |   rate/s |  p50 ms  p99 ms | CPU ms/op order payment | not ok | notes"
)


def print_line(m: Measured) -> None:
    notes = dict(m.notes)
    if m.repeats:
        notes["repeats"] = m.repeats
    if m.outbox_pending is not None:
        notes["outbox_pending"] = m.outbox_pending
    print(
        f"{m.scenario:18} {m.concurrency:3} | {m.rate:8.0f} | {m.p50_ms:6.1f} {m.p99_ms:7.1f} |"
        f"       {m.cpu_ms_order:5.2f}  {m.cpu_ms_payment:6.2f} | {m.failures or 'none'} |"
        f" {notes or ''}",
        flush=True,
    )


async def measure(args) -> tuple[list[Measured], dict]:
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    with tempfile.TemporaryDirectory() as workdir:
        bench = Bench(args.seconds, args.orders, args.payment_processes, Path(workdir))
        try:
            await bench.prepare()
            if not args.json:
                print(HEADER, flush=True)
            results = []
            for scenario in chosen:
                results.append(await bench.run(scenario))
                if not args.json:
                    print_line(results[-1])
            books = await bench.check_books(args.drain_seconds)
            return results, books
        finally:
            await bench.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench payment")
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument(
        "--orders", type=int, default=12000, help="unpaid orders made first (links, then notifies)"
    )
    parser.add_argument("--payment-processes", type=int, default=2)  # the README's recommendation
    parser.add_argument(
        "--drain-seconds", type=float, default=300, help="how long to wait for the relay"
    )
    parser.add_argument("--only", nargs="*", default=[], help="scenario names")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    require("wrk")
    if not args.json:
        print(
            f"payment path, wrk 1 thread, {args.seconds:g} s per run; order service "
            f"{ORDER_PROCESSES} processes, payment service {args.payment_processes}, relay to "
            f"the real order service; gateway: a closed port (links are signed locally); "
            f"{os.cpu_count()} cores shared by wrk, the services, PostgreSQL and Redis",
            flush=True,
        )
    results, books = asyncio.run(measure(args))
    if args.json:
        print(json.dumps({"runs": [asdict(r) for r in results], "books": books}, indent=2))
    else:
        print(f"books: {books}")
    failed = {r.scenario: r.failures for r in results if r.failures}
    if failed:
        raise SystemExit(f"unexpected answers: {failed}; see test-artifacts/logs/bench-pay-*")


if __name__ == "__main__":
    main()
