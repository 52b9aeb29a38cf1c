"""The cart as the buyer sees it: counts from the cart store, names and prices from the catalog."""

from sqlalchemy.ext.asyncio import async_sessionmaker

from order_service.services import catalog
from order_service.storage.cart import CartStore
from order_service.storage.skus import skus_by_id


async def cart_items(sessions: async_sessionmaker, cart: CartStore, user_id: int) -> list[dict]:
    contents = await cart.contents(user_id)
    if not contents.counts:
        return []
    async with sessions() as session:
        found = await skus_by_id(session, sorted(contents.counts))
    return [
        _item(found[sku_id], count, sku_id in contents.selected)
        for sku_id, count in sorted(contents.counts.items())
        if sku_id in found  # a sku removed from the catalog drops out of the cart view
    ]


async def put_item(
    sessions: async_sessionmaker,
    cart: CartStore,
    user_id: int,
    sku_id: int,
    count: int,
    selected: bool,
) -> dict:
    sku = await catalog.get_sku(sessions, sku_id)  # 404 sku_not_found before touching the cart
    await cart.put(user_id, sku_id, count, selected)
    return {
        "sku_id": sku_id,
        "name": sku["name"],
        "price": sku["price"],
        "count": count,
        "selected": selected,
    }


def _item(sku, count: int, selected: bool) -> dict:
    return {
        "sku_id": sku.id,
        "name": sku.name,
        "price": sku.price,
        "count": count,
        "selected": selected,
    }
