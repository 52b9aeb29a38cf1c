"""Goods (SPUs) with their SKUs, for the storefront: a searchable page, and one goods."""

from sqlalchemy.ext.asyncio import async_sessionmaker

from order_service.domain.errors import NotFound
from order_service.services.catalog import sku_view
from order_service.storage import goods as goods_storage


def _goods_view(row, skus: list) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "image_url": row.image_url,
        "min_price": row.min_price,
        "sales": int(row.sales),
        "skus": [sku_view(sku) for sku in skus],
    }


async def list_goods(sessions: async_sessionmaker, q: str | None, offset: int, limit: int) -> dict:
    async with sessions() as session:
        total = await goods_storage.count_goods(session, q)
        rows = await goods_storage.list_goods(session, q, offset, limit)
        skus = await goods_storage.skus_of(session, [row.id for row in rows])
    return {"items": [_goods_view(row, skus[row.id]) for row in rows], "total": total}


async def get_goods(sessions: async_sessionmaker, goods_id: int) -> dict:
    async with sessions() as session:
        row = await goods_storage.find_goods(session, goods_id)
        if row is None:
            raise NotFound("goods_not_found", f"There is no goods {goods_id}.", goods_id=goods_id)
        skus = await goods_storage.skus_of(session, [goods_id])
    return _goods_view(row, skus[goods_id])
