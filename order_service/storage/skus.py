"""SKU rows as the storefront and the back office read them, and the catalog's writes of them
(new SKUs, names, prices, goods). Stock moved by orders and the merchant's deltas is
`storage/stock.py`'s; a catalog file sets a SKU's initial stock here (or all of it with
`--set-stock`)."""

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from order_service.storage.tables import skus

SKU_COLUMNS = (skus.c.id, skus.c.goods_id, skus.c.name, skus.c.price, skus.c.stock, skus.c.sales)


async def count_skus(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(skus)) or 0


async def page_of_skus(session: AsyncSession, offset: int, limit: int) -> list:
    rows = await session.execute(
        select(*SKU_COLUMNS).order_by(skus.c.id).offset(offset).limit(limit)
    )
    return list(rows.all())


async def find_sku(session: AsyncSession, sku_id: int):
    """The SKU row, or None."""
    return (await session.execute(select(*SKU_COLUMNS).where(skus.c.id == sku_id))).first()


async def skus_by_id(session: AsyncSession, sku_ids: list[int]) -> dict[int, object]:
    """The rows of the SKUs that exist among `sku_ids`, by id."""
    rows = await session.execute(select(*SKU_COLUMNS).where(skus.c.id.in_(sku_ids)))
    return {row.id: row for row in rows}


async def sku_ids_named(session: AsyncSession, name: str) -> list[int]:
    return list(await session.scalars(select(skus.c.id).where(skus.c.name == name)))


async def insert_sku(session: AsyncSession, **values) -> int:
    """A new SKU (goods_id, name, price, stock, and its id when given) without sales; its id."""
    return await session.scalar(insert(skus).values(sales=0, **values).returning(skus.c.id))


async def update_sku(session: AsyncSession, sku_id: int, **values) -> None:
    await session.execute(update(skus).where(skus.c.id == sku_id).values(**values))


async def advance_id_sequence(session: AsyncSession) -> None:
    """PostgreSQL: move the SKU id sequence past the largest id, since ids given explicitly
    (a catalog file's) do not advance it. Nothing to do on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('skus', 'id'), "
                "GREATEST((SELECT COALESCE(MAX(id), 0) FROM skus), 1))"
            )
        )
