"""The one place that moves SKU stock: taking it (checkout), giving it back (cancel, expiry, a
full refund before shipping), the merchant's adjustments, and SKU sales, which move with it. A
goods' (SPU's) sales are the sum of its SKUs' sales (summed in `storage/goods.py`'s queries)
instead of kept in a row that every order would lock.

Lock order: every function here touches SKU rows in ascending id order, so two transactions that
share SKUs never wait on each other in a cycle. Callers pass counts in any order.
"""

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from order_service.domain.stock import SkuStock
from order_service.storage.tables import skus
from shared.results import updated_rows

Executor = AsyncConnection | AsyncSession

_READ = (
    select(skus.c.id, skus.c.stock, skus.c.goods_id, skus.c.name, skus.c.price)
    .where(skus.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(skus.c.id)
)

# PostgreSQL: one compare-and-set statement for every SKU of a batch. The array is in ascending
# id order and the planner walks it with the primary-key index (a nested loop over the
# array), so rows are locked in that order.
_TAKE_ALL = text(
    "UPDATE skus SET stock = t.old - t.take, sales = skus.sales + t.take"
    " FROM unnest(CAST(:ids AS integer[]), CAST(:olds AS integer[]), CAST(:takes AS integer[]))"
    " AS t(id, old, take)"
    " WHERE skus.id = t.id AND skus.stock = t.old"
    " RETURNING skus.id"
)
_TAKE_ONE = (
    update(skus)
    .where(skus.c.id == bindparam("sku_id"), skus.c.stock == bindparam("old"))
    .values(stock=bindparam("new"), sales=skus.c.sales + bindparam("take"))
)


def _dialect(executor: Executor) -> str:
    bind = executor.get_bind() if isinstance(executor, AsyncSession) else executor
    return bind.dialect.name


async def read_stock(executor: Executor, sku_ids) -> dict[int, SkuStock]:
    rows = await executor.execute(_READ, {"ids": sorted(set(sku_ids))})
    return {row.id: SkuStock(row.id, row.stock, row.goods_id, row.name, row.price) for row in rows}


async def take_stock(executor: Executor, taken: dict[int, int], olds: dict[int, int]) -> set[int]:
    """Compare-and-set `stock = old - take WHERE stock = old` for each SKU, ascending by id.

    Returns the ids whose stock was no longer `old` (another buyer got there first); the caller
    rolls its savepoint back when any did.
    """
    ids = sorted(taken)
    if _dialect(executor) == "postgresql":
        rows = await executor.execute(
            _TAKE_ALL,
            {"ids": ids, "olds": [olds[i] for i in ids], "takes": [taken[i] for i in ids]},
        )
        return set(ids) - {row.id for row in rows}
    raced = set()
    for sku_id in ids:  # SQLite, the one-process quick start: one statement per SKU
        params = {"sku_id": sku_id, "old": olds[sku_id], "new": olds[sku_id] - taken[sku_id]}
        result = await executor.execute(_TAKE_ONE, params | {"take": taken[sku_id]})
        if updated_rows(result) != 1:
            raced.add(sku_id)
    return raced


async def return_stock(executor: Executor, counts: dict[int, int]) -> None:
    """Give units back (a cancelled or expired order): atomic increments, ascending by id."""
    for sku_id in sorted(counts):
        await executor.execute(
            update(skus)
            .where(skus.c.id == sku_id)
            .values(stock=skus.c.stock + counts[sku_id], sales=skus.c.sales - counts[sku_id])
        )


async def adjust_stock(executor: Executor, sku_id: int, delta: int) -> bool:
    """The merchant adds (or, negative, takes away) units: one atomic, guarded increment.

    `stock = stock + :delta WHERE stock + :delta >= 0`, so it composes with racing checkouts
    (no lost update) and never goes below zero; False when there were not enough units.
    """
    result = await executor.execute(
        update(skus)
        .where(skus.c.id == sku_id, skus.c.stock + delta >= 0)
        .values(stock=skus.c.stock + delta)
    )
    return updated_rows(result) == 1
