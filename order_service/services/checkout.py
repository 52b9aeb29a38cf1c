"""Placing orders: served in batches, one transaction per batch, stock never oversold.

Every order a process is asked to place joins a queue; one task per process serves the queue a
batch at a time (everything that waited while the previous batch ran, up to MAX_BATCH), so the
buyers of one SKU no longer race each other at its row: one transaction per process does, and
it takes their units together. One batch, one transaction:

1. the batch's idempotency keys are inserted (a unique key: a retried request waits for and then
   finds the first one's order instead of placing a second);
2. the SKUs and addresses are read, and the orders are allotted stock in arrival order
   (domain/stock.py); an order that cannot be served is refused with its own error, and its key
   is forgotten;
3. the orders and their lines are inserted (one statement each);
4. in a savepoint, one compare-and-set per SKU for the sum of the batch's units
   (`stock = :old - :take WHERE id = :id AND stock = :old`, storage/stock.py). When another
   process got there first the savepoint is rolled back, the stock re-read and the update tried
   again; if the units no longer fit, the whole transaction is redone so that the orders that
   came last are refused. A 2 s budget bounds this: past it, the batch hears 409
   stock_contention.
5. one commit (one fsync) for the batch.

Each waiting request then hears its own answer; only then do ordered items leave a cart. A batch
that fails for any other reason is served again one order at a time, so that a failure is only
ever its own order's (a database that does not answer fails the batch at once: 503).
"""

import asyncio
import hashlib
import json
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from order_service import metrics
from order_service.domain.errors import (
    Conflict,
    DomainError,
    EmptyCart,
    IdempotencyKeyReused,
    NotFound,
    StockContention,
)
from order_service.domain.order_ids import new_order_id
from order_service.domain.pricing import (
    MAX_ORDER_AMOUNT,
    Line,
    amount_out_of_range,
    check_units,
    merge_counts,
    order_totals,
)
from order_service.domain.states import PayMethod, initial_status
from order_service.domain.stock import SkuStock, allot, still_fits
from order_service.services.orders_read import load_order, order_view
from order_service.storage.cart import CartStore
from order_service.storage.order_writes import (
    claim_keys,
    find_key,
    insert_orders,
    owned_addresses,
    release_keys,
    unpaid_orders_of,
)
from order_service.storage.stock import read_stock, take_stock
from shared.errors import is_dependency_failure
from shared.time import now_utc
from shared.tracing import current_span_context, linked_span

log = structlog.get_logger(__name__)

# A batch waits at most this long for its turn at a SKU row that other processes keep taking.
STOCK_RETRY_SECONDS = 2.0
STOCK_MAX_ATTEMPTS = 200
MAX_BATCH = 100
DEADLOCK = "40P01"


@dataclass
class CheckoutHooks:
    """Test seam: awaited just before each compare-and-set of stock, with the attempt number.

    Lets a test hold a batch at a barrier, or change the stock under it, so that the race is
    forced, not hoped for.
    """

    before_stock_update: Callable[[int], Awaitable[None]] | None = None


@dataclass(frozen=True)
class OrderRequest:
    user_id: int
    address_id: int
    pay_method: PayMethod
    items: list[tuple[int, int]] | None  # None: the cart's selected items
    body: dict = field(default_factory=dict)  # what the client sent, for the idempotency digest


@dataclass(frozen=True)
class PlacedOrder:
    order: dict
    replayed: bool


def request_digest(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(eq=False)
class _Waiting:
    """One request in the queue, and the future its answer is given through."""

    request: OrderRequest
    key: str | None
    counts: dict[int, int]
    order_id: str
    future: asyncio.Future
    trace_link: object = None  # the request's span context (tracing on), linked by its batch

    @property
    def key_pair(self) -> tuple[int, str] | None:
        return (self.request.user_id, self.key) if self.key is not None else None


@dataclass(frozen=True)
class _Replay:
    """The idempotency key was used before: the answer is the order it made."""


@dataclass(frozen=True)
class _NewOrder:
    row: dict
    lines: list[dict]


class _Replan(Exception):
    """Stock moved under the batch so far that its allotment must be made again."""


class _Raced(Exception):
    """A compare-and-set found a stock other than the one read: roll the savepoint back."""


class Checkout:
    """The checkout queue of one process (see the module's docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        cart: CartStore,
        *,
        freight: Decimal,
        pay_timeout_seconds: int,
        hooks: CheckoutHooks | None = None,
        max_unpaid_orders: int = 0,
    ):
        self.engine = engine
        self.max_unpaid_orders = max_unpaid_orders  # per user; 0: no cap
        self.cart = cart
        self.freight = freight
        self.pay_timeout_seconds = pay_timeout_seconds
        self.hooks = hooks or CheckoutHooks()
        self._queue: deque[_Waiting] = deque()
        self._server: asyncio.Task | None = None

    async def place(self, request: OrderRequest, idempotency_key: str | None = None) -> PlacedOrder:
        counts = await self._wanted_counts(request, idempotency_key)
        check_units(counts)
        waiting = _Waiting(
            request,
            idempotency_key,
            counts,
            new_order_id(request.user_id),
            asyncio.get_running_loop().create_future(),
            current_span_context(),
        )
        self._queue.append(waiting)
        if self._server is None or self._server.done():
            self._server = asyncio.create_task(self._serve_queue(), name="checkout-queue")
        outcome = await waiting.future
        if isinstance(outcome, _Replay):
            return PlacedOrder(await self._replayed(waiting), True)
        order = order_view(outcome.row, outcome.lines)
        metrics.ORDERS_PLACED.labels(request.pay_method.value).inc()
        if request.items is None:
            await self.cart.remove(request.user_id, list(counts))
        log.info("order_placed", order_id=waiting.order_id, total=str(order["total_amount"]))
        return PlacedOrder(order, False)

    async def aclose(self) -> None:
        if self._server is not None:
            await self._server

    async def _wanted_counts(self, request: OrderRequest, key: str | None) -> dict[int, int]:
        if request.items is not None:
            return merge_counts(request.items)
        selected = (await self.cart.contents(request.user_id)).selected_counts()
        if not selected and key is None:
            raise EmptyCart("The cart has no selected items to order.")
        # With a key an empty cart may be a replay: the first request emptied it.
        return selected

    async def _replayed(self, waiting: _Waiting) -> dict:
        assert waiting.key is not None  # only a request with a key is a replay
        async with self.engine.connect() as conn:
            digest, order_id = await find_key(conn, waiting.request.user_id, waiting.key)
        if digest != request_digest(waiting.request.body):
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request body."
            )
        async with self.engine.connect() as conn:
            return await load_order(conn, order_id, waiting.request.user_id)

    async def _serve_queue(self) -> None:
        while self._queue:
            await self._serve(self._next_batch())

    def _next_batch(self) -> list[_Waiting]:
        """The oldest waiting orders, at most one per idempotency key (a second is a replay)."""
        batch: list[_Waiting] = []
        keys: set[tuple[int, str]] = set()
        held: list[_Waiting] = []
        while self._queue and len(batch) < MAX_BATCH:
            waiting = self._queue.popleft()
            if waiting.future.done():  # its client went away before its turn
                continue
            if waiting.key_pair in keys:
                held.append(waiting)
                continue
            if waiting.key_pair is not None:
                keys.add(waiting.key_pair)
            batch.append(waiting)
        self._queue.extendleft(reversed(held))
        return batch

    async def _serve(self, batch: list[_Waiting]) -> None:
        try:
            with linked_span("checkout batch", [w.trace_link for w in batch], orders=len(batch)):
                outcomes = await self._place_batch(batch)
        except DomainError as error:  # stock_contention: the budget ran out for the batch
            outcomes = [error] * len(batch)
        except Exception as error:  # noqa: BLE001 - isolate it: each order alone, once
            if is_dependency_failure(error):
                # The database does not answer: no order of the batch is at fault, and serving
                # them one by one would make the last wait once per order (503 for each).
                log.warning("checkout_dependency_unavailable", orders=len(batch), error=repr(error))
                outcomes = [error] * len(batch)
            elif len(batch) > 1:
                log.warning("checkout_batch_failed", orders=len(batch), error=repr(error))
                for waiting in batch:
                    await self._serve([waiting])
                return
            else:
                log.exception("checkout_failed", order_id=batch[0].order_id)
                outcomes = [error]
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.future.done():
                continue
            if isinstance(outcome, Exception):
                waiting.future.set_exception(outcome)
            else:
                waiting.future.set_result(outcome)

    async def _place_batch(self, batch: list[_Waiting]) -> list:
        deadline = time.monotonic() + STOCK_RETRY_SECONDS
        attempts = _Attempts()
        while True:
            try:
                async with self.engine.begin() as conn:
                    return await self._one_transaction(conn, batch, deadline, attempts)
            except _Replan:
                if time.monotonic() > deadline:
                    metrics.STOCK_CONTENTION.inc()
                    raise StockContention() from None

    async def _one_transaction(
        self, conn: AsyncConnection, batch: list[_Waiting], deadline: float, attempts: "_Attempts"
    ) -> list:
        now = now_utc()
        fresh = await claim_keys(conn, [self._claim(w, now) for w in batch if w.key is not None])
        live = [w for w in batch if w.key is None or w.key_pair in fresh]
        decisions, found, taken = await self._allot(conn, live)
        await release_keys(
            conn, [w.key_pair for w in live if w.key_pair and decisions[w] is not None]
        )
        served = [w for w in live if decisions[w] is None]
        new_orders = {w: self._new_order(w, found, now) for w in served}
        if served:
            await insert_orders(
                conn,
                [new.row for new in new_orders.values()],
                [line for new in new_orders.values() for line in new.lines],
            )
            await self._take_stock(conn, taken, found, deadline, attempts)
        return [_outcome(w, decisions, new_orders) for w in batch]

    async def _allot(self, conn: AsyncConnection, live: list[_Waiting]):
        if not live:
            return {}, {}, {}
        found = await read_stock(conn, {sku for w in live for sku in w.counts})
        owners = await owned_addresses(conn, {w.request.address_id for w in live})
        unpaid = await self._unpaid_orders(conn, live)
        decisions: dict[_Waiting, DomainError | None] = {}
        candidates = []
        for waiting in live:
            refused = self._refusal(waiting, owners, found, unpaid)
            if refused is None:
                candidates.append(waiting)
            else:
                decisions[waiting] = refused
        allotted, taken = allot([w.counts for w in candidates], found)
        decisions.update(zip(candidates, allotted, strict=True))
        return {w: decisions[w] for w in live}, found, taken

    async def _unpaid_orders(self, conn: AsyncConnection, live: list[_Waiting]) -> dict[int, int]:
        """Unpaid orders per user, for the users of the batch's Alipay orders (when capped)."""
        alipay_users = {w.request.user_id for w in live if w.request.pay_method == PayMethod.ALIPAY}
        if not self.max_unpaid_orders or not alipay_users:
            return {}
        return await unpaid_orders_of(conn, alipay_users)

    def _refusal(
        self,
        waiting: _Waiting,
        owners: dict[int, int],
        found: dict[int, SkuStock],
        unpaid: dict[int, int],
    ) -> DomainError | None:
        """Why an order is refused before any stock is allotted to it, or None."""
        request = waiting.request
        if not waiting.counts:
            return EmptyCart("The cart has no selected items to order.")
        if owners.get(request.address_id) != request.user_id:
            return NotFound(
                "address_not_found", f"There is no address {request.address_id} of yours."
            )
        if all(sku in found for sku in waiting.counts):
            lines = [Line(sku, n, found[sku].price) for sku, n in waiting.counts.items()]
            total = order_totals(lines, self.freight).total_amount
            if total > MAX_ORDER_AMOUNT:
                return amount_out_of_range(total)
        if request.pay_method == PayMethod.ALIPAY and self.max_unpaid_orders:
            if unpaid.get(request.user_id, 0) >= self.max_unpaid_orders:
                return Conflict(
                    "too_many_unpaid_orders",
                    f"You have {self.max_unpaid_orders} unpaid orders; pay or cancel one first.",
                )
            unpaid[request.user_id] = unpaid.get(request.user_id, 0) + 1  # counts this one
        return None

    def _claim(self, waiting: _Waiting, now: datetime) -> dict:
        return {
            "user_id": waiting.request.user_id,
            "key": waiting.key,
            "request_digest": request_digest(waiting.request.body),
            "order_id": waiting.order_id,
            "created_at": now,
        }

    def _new_order(self, waiting: _Waiting, found: dict[int, SkuStock], now: datetime):
        request = waiting.request
        lines = [Line(sku, count, found[sku].price) for sku, count in waiting.counts.items()]
        totals = order_totals(lines, self.freight)
        alipay = request.pay_method == PayMethod.ALIPAY
        row = {
            "order_id": waiting.order_id,
            "user_id": request.user_id,
            "address_id": request.address_id,
            "status": initial_status(request.pay_method).value,
            "pay_method": request.pay_method.value,
            "total_count": totals.total_count,
            "freight": totals.freight,
            "total_amount": totals.total_amount,
            "created_at": now,
            "pay_deadline": now + timedelta(seconds=self.pay_timeout_seconds) if alipay else None,
            "paid_at": None,
            "trade_no": None,
            "canceled_at": None,
            "cancel_reason": None,
        }
        line_rows = [
            {
                "order_id": waiting.order_id,
                "sku_id": line.sku_id,
                "name": found[line.sku_id].name,
                "count": line.count,
                "price": line.price,
            }
            for line in lines
        ]
        return _NewOrder(row, line_rows)

    async def _take_stock(
        self,
        conn: AsyncConnection,
        taken: dict[int, int],
        found: dict[int, SkuStock],
        deadline: float,
        attempts: "_Attempts",
    ) -> None:
        olds = {sku_id: found[sku_id].stock for sku_id in taken}
        while True:
            attempt = attempts.next()
            try:
                async with conn.begin_nested():
                    if self.hooks.before_stock_update is not None:
                        await self.hooks.before_stock_update(attempt)
                    if await take_stock(conn, taken, olds):
                        raise _Raced()
                return
            except _Raced:
                pass
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) != DEADLOCK:
                    raise
            if time.monotonic() > deadline or attempt >= STOCK_MAX_ATTEMPTS:
                metrics.STOCK_CONTENTION.inc()
                raise StockContention()
            await asyncio.sleep(random.uniform(0, 0.002 * min(attempt, 10)))
            now = {sku_id: sku.stock for sku_id, sku in (await read_stock(conn, taken)).items()}
            if not still_fits(taken, now):
                raise _Replan()
            olds = now


def _outcome(waiting: _Waiting, decisions: dict, new_orders: dict):
    if waiting not in decisions:  # its key was claimed by an order committed before
        return _Replay()
    refused = decisions[waiting]
    return refused if refused is not None else new_orders[waiting]


class _Attempts:
    """Counts compare-and-set attempts across the transactions of one batch."""

    def __init__(self):
        self.count = 0

    def next(self) -> int:
        self.count += 1
        return self.count
