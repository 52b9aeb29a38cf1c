"""Goods (SPUs) as the storefront lists them: each with its SKUs, its lowest price and its sales,
the sum of its SKUs' sales (there is no goods.sales column: see storage/stock.py)."""

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from order_service.storage.skus import SKU_COLUMNS
from order_service.storage.tables import goods, skus

_GOODS_COLUMNS = (
    goods.c.id,
    goods.c.name,
    goods.c.description,
    goods.c.image_url,
    func.min(skus.c.price).label("min_price"),
    func.coalesce(func.sum(skus.c.sales), 0).label("sales"),
)


def _like_pattern(q: str) -> str:
    """`q` as a literal substring: LIKE's wildcards in it match only themselves."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(q: str | None):
    """Goods with at least one SKU (a goods without any cannot be bought); with `q`, those whose
    name or one of whose SKUs' names contains it, case-insensitively."""
    query = select(goods.c.id).where(
        select(skus.c.id).where(skus.c.goods_id == goods.c.id).exists()
    )
    if q:
        pattern = _like_pattern(q)
        named = select(skus.c.id).where(
            skus.c.goods_id == goods.c.id, skus.c.name.ilike(pattern, escape="\\")
        )
        query = query.where(or_(goods.c.name.ilike(pattern, escape="\\"), named.exists()))
    return query


async def count_goods(session: AsyncSession, q: str | None) -> int:
    counted = await session.scalar(select(func.count()).select_from(_matching(q).subquery()))
    return counted or 0


async def list_goods(session: AsyncSession, q: str | None, offset: int, limit: int) -> list:
    """One page of goods rows (id, name, description, image_url, min_price, sales), by id."""
    page = _matching(q).order_by(goods.c.id).offset(offset).limit(limit).subquery()
    rows = await session.execute(
        select(*_GOODS_COLUMNS)
        .join(skus, skus.c.goods_id == goods.c.id)
        .where(goods.c.id.in_(select(page.c.id)))
        .group_by(goods.c.id, goods.c.name, goods.c.description, goods.c.image_url)
        .order_by(goods.c.id)
    )
    return list(rows.all())


async def find_goods(session: AsyncSession, goods_id: int):
    rows = await session.execute(
        select(*_GOODS_COLUMNS)
        .join(skus, skus.c.goods_id == goods.c.id)
        .where(goods.c.id == goods_id)
        .group_by(goods.c.id, goods.c.name, goods.c.description, goods.c.image_url)
    )
    return rows.first()


async def skus_of(session: AsyncSession, goods_ids: list[int]) -> dict[int, list]:
    """The SKUs of each goods, by ascending SKU id."""
    grouped: dict[int, list] = {goods_id: [] for goods_id in goods_ids}
    if goods_ids:
        rows = await session.execute(
            select(*SKU_COLUMNS).where(skus.c.goods_id.in_(goods_ids)).order_by(skus.c.id)
        )
        for row in rows:
            grouped[row.goods_id].append(row)
    return grouped


def _media(description: str | None, image_url: str | None) -> dict:
    pairs = (("description", description), ("image_url", image_url))
    return {key: value for key, value in pairs if value is not None}


async def describe_goods_of_sku(
    session: AsyncSession, sku_id: int, description: str | None, image_url: str | None
) -> None:
    """Give the goods of SKU `sku_id` a description or an image (one left out is kept)."""
    if values := _media(description, image_url):
        goods_of_sku = select(skus.c.goods_id).where(skus.c.id == sku_id).scalar_subquery()
        await session.execute(update(goods).where(goods.c.id == goods_of_sku).values(**values))


async def goods_id_for(
    session: AsyncSession,
    name: str,
    description: str | None = None,
    image_url: str | None = None,
) -> int:
    """The id of the goods called `name`, made when missing; a description or image given
    replaces the stored one, one left out keeps it."""
    values = _media(description, image_url)
    found = await session.scalar(select(goods.c.id).where(goods.c.name == name))
    if found is None:
        return await session.scalar(insert(goods).values(name=name, **values).returning(goods.c.id))
    if values:
        await session.execute(update(goods).where(goods.c.id == found).values(**values))
    return found
