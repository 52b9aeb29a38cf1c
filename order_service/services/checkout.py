"""Placing an order: one transaction, stock taken with compare-and-set updates, never oversold.

Within one transaction: the idempotency key is inserted first (a unique key, so a retried POST
waits for and then finds the first one instead of placing a second order); inside a savepoint
the order's SKUs are read in one query and each SKU's stock is taken with
`UPDATE skus SET stock = :new, sales = :sales WHERE id = :id AND stock = :old`, in ascending sku
id order so that two checkouts never wait on each other in a cycle. When another buyer got
there first the savepoint is rolled back and the attempt repeated after a short jittered
backoff, a bounded number of times. Then the order, its lines (one statement) and the SPU sales
(atomic increments) are written, and the transaction commits. Only then do the ordered items
leave the cart.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from order_service import metrics
from order_service.domain.errors import (
    EmptyCart,
    IdempotencyKeyReused,
    InsufficientStock,
    NotFound,
    StockContention,
)
from order_service.domain.order_ids import new_order_id
from order_service.domain.pricing import Line, merge_counts, order_totals
from order_service.domain.states import PayMethod, initial_status
from order_service.services.orders_read import load_order
from order_service.storage.cart import CartStore
from order_service.storage.database import is_postgres, now_utc
from order_service.storage.tables import (
    addresses,
    goods,
    idempotency_keys,
    order_lines,
    orders,
    skus,
)

log = structlog.get_logger(__name__)

# Under a flash sale every buyer of one SKU races for one row and each round has one winner,
# so the retry budget is a time, not a small count: a buyer waits up to ~2 s for their turn
# before hearing 409 stock_contention (measured in bench/checkout.py, "hot" scenario).
STOCK_RETRY_SECONDS = 2.0
STOCK_MAX_ATTEMPTS = 200


class _StockRace(Exception):
    """Another buyer changed a SKU's stock between our read and our update."""


@dataclass
class CheckoutHooks:
    """Test seam: awaited just before the conditional stock updates, with the attempt number.

    Lets a test hold every buyer at a barrier so that the race is forced, not hoped for.
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


async def place_order(
    sessions: async_sessionmaker,
    cart: CartStore,
    request: OrderRequest,
    *,
    freight: Decimal,
    pay_timeout_seconds: int,
    idempotency_key: str | None = None,
    hooks: CheckoutHooks | None = None,
) -> PlacedOrder:
    from_cart = request.items is None
    order_id = new_order_id(request.user_id)
    async with sessions() as session, session.begin():
        if idempotency_key is not None:
            existing = await _claim_key(session, request, idempotency_key, order_id)
            if existing is not None:
                return PlacedOrder(await load_order(session, existing, request.user_id), True)
        # After the key: a replay of a cart order finds the cart already emptied by the first.
        counts = await _wanted_counts(cart, request)
        await _check_address(session, request)
        priced = await _read_skus(session, counts)
        await _write_order(session, order_id, request, priced, freight, pay_timeout_seconds)
        # The stock updates come last: from the first one to the commit the SKU rows are
        # locked, and every other buyer of those SKUs waits for that commit.
        await _take_stock(session, counts, hooks or CheckoutHooks())
        await add_goods_sales(session, _sales_per_goods(priced))
    async with sessions() as session:
        order = await load_order(session, order_id)
    metrics.ORDERS_PLACED.labels(request.pay_method.value).inc()
    if from_cart:
        await cart.remove(request.user_id, list(counts))
    log.info("order_placed", order_id=order_id, total=str(order["total_amount"]))
    return PlacedOrder(order, False)


async def _wanted_counts(cart: CartStore, request: OrderRequest) -> dict[int, int]:
    if request.items is not None:
        return merge_counts(request.items)
    selected = (await cart.contents(request.user_id)).selected_counts()
    if not selected:
        raise EmptyCart("The cart has no selected items to order.")
    return selected


async def _claim_key(
    session: AsyncSession, request: OrderRequest, key: str, order_id: str
) -> str | None:
    """Insert the key, or (after the first request's transaction ends) find the order it made."""
    digest = request_digest(request.body)
    dialect_insert = postgresql.insert if is_postgres(session) else sqlite.insert
    inserted = await session.scalar(
        dialect_insert(idempotency_keys)
        .values(
            user_id=request.user_id,
            key=key,
            request_digest=digest,
            order_id=order_id,
            created_at=now_utc(),
        )
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.order_id)
    )
    if inserted is not None:
        return None
    row = (
        await session.execute(
            select(idempotency_keys.c.request_digest, idempotency_keys.c.order_id).where(
                idempotency_keys.c.user_id == request.user_id, idempotency_keys.c.key == key
            )
        )
    ).one()
    if row.request_digest != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body."
        )
    return row.order_id


async def _check_address(session: AsyncSession, request: OrderRequest) -> None:
    found = await session.scalar(
        select(addresses.c.id).where(
            addresses.c.id == request.address_id, addresses.c.user_id == request.user_id
        )
    )
    if found is None:
        raise NotFound("address_not_found", f"There is no address {request.address_id} of yours.")


@dataclass(frozen=True)
class PricedLine:
    line: Line
    name: str
    goods_id: int


async def _read_skus(session: AsyncSession, counts: dict[int, int]) -> list[PricedLine]:
    """The order's SKUs in one query; the lines priced as they are now."""
    found = await _sku_rows(session, counts)
    return [
        PricedLine(
            Line(sku_id, count, found[sku_id].price), found[sku_id].name, found[sku_id].goods_id
        )
        for sku_id, count in counts.items()
    ]


async def _sku_rows(session: AsyncSession, counts: dict[int, int]) -> dict:
    """The SKUs by id, each checked to exist and to have enough stock for its count."""
    rows = await session.execute(
        select(skus.c.id, skus.c.name, skus.c.price, skus.c.stock, skus.c.sales, skus.c.goods_id)
        .where(skus.c.id.in_(list(counts)))
        .order_by(skus.c.id)
    )
    found = {row.id: row for row in rows}
    for sku_id, count in counts.items():  # ascending sku id
        sku = found.get(sku_id)
        if sku is None:
            raise NotFound("sku_not_found", f"There is no sku {sku_id}.", sku_id=sku_id)
        if sku.stock < count:
            raise InsufficientStock(sku_id)
    return found


async def _take_stock(session: AsyncSession, counts: dict[int, int], hooks: CheckoutHooks) -> None:
    retrying = AsyncRetrying(
        stop=stop_after_delay(STOCK_RETRY_SECONDS) | stop_after_attempt(STOCK_MAX_ATTEMPTS),
        wait=wait_random_exponential(multiplier=0.002, max=0.05),
        retry=retry_if_exception_type(_StockRace),
    )
    try:
        async for attempt in retrying:
            with attempt:
                async with session.begin_nested():
                    number = attempt.retry_state.attempt_number
                    await _take_stock_once(session, counts, hooks, number)
    except RetryError:
        metrics.STOCK_CONTENTION.inc()
        raise StockContention() from None


async def _take_stock_once(
    session: AsyncSession, counts: dict[int, int], hooks: CheckoutHooks, attempt: int
) -> None:
    """Re-read the stock, then compare-and-set it; raises _StockRace to roll the savepoint back."""
    found = await _sku_rows(session, counts)
    if hooks.before_stock_update is not None:
        await hooks.before_stock_update(attempt)
    for sku_id, count in counts.items():  # ascending sku id: no two checkouts wait in a cycle
        sku = found[sku_id]
        result = await session.execute(
            update(skus)
            .where(skus.c.id == sku_id, skus.c.stock == sku.stock)
            .values(stock=sku.stock - count, sales=sku.sales + count)
        )
        if result.rowcount != 1:
            raise _StockRace(sku_id)


async def _write_order(
    session: AsyncSession,
    order_id: str,
    request: OrderRequest,
    priced: list[PricedLine],
    freight: Decimal,
    pay_timeout_seconds: int,
) -> None:
    """The order and its lines (one statement each)."""
    totals = order_totals([p.line for p in priced], freight)
    now = now_utc()
    alipay = request.pay_method == PayMethod.ALIPAY
    await session.execute(
        insert(orders).values(
            order_id=order_id,
            user_id=request.user_id,
            address_id=request.address_id,
            status=initial_status(request.pay_method).value,
            pay_method=request.pay_method.value,
            total_count=totals.total_count,
            freight=totals.freight,
            total_amount=totals.total_amount,
            created_at=now,
            pay_deadline=now + timedelta(seconds=pay_timeout_seconds) if alipay else None,
        )
    )
    await session.execute(
        insert(order_lines).values(
            [
                {
                    "order_id": order_id,
                    "sku_id": p.line.sku_id,
                    "name": p.name,
                    "count": p.line.count,
                    "price": p.line.price,
                }
                for p in priced
            ]
        )
    )


def _sales_per_goods(priced: list[PricedLine]) -> dict[int, int]:
    return merge_counts([(p.goods_id, p.line.count) for p in priced])


async def add_goods_sales(session: AsyncSession, per_goods: dict[int, int]) -> None:
    """Atomic increments (never read-modify-write), in ascending goods id order."""
    for goods_id, count in sorted(per_goods.items()):
        await session.execute(
            update(goods).where(goods.c.id == goods_id).values(sales=goods.c.sales + count)
        )
