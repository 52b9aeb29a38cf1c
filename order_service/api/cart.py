from fastapi import APIRouter, Response

from order_service.api.catalog import SkuId
from order_service.api.deps import CartDep, CurrentUser, SessionsDep
from order_service.api.schemas import CartItemBody, CartItemOut, CartOut
from order_service.services import catalog

router = APIRouter(prefix="/api/cart", tags=["cart"])


@router.get("", response_model=CartOut)
async def get_cart(user_id: CurrentUser, cart: CartDep, sessions: SessionsDep):
    contents = await cart.contents(user_id)
    if not contents.counts:
        return {"items": []}
    async with sessions() as session:
        found = await catalog.skus_by_id(session, sorted(contents.counts))
    items = [
        {
            "sku_id": sku_id,
            "name": found[sku_id].name,
            "price": found[sku_id].price,
            "count": count,
            "selected": sku_id in contents.selected,
        }
        for sku_id, count in sorted(contents.counts.items())
        if sku_id in found  # a sku removed from the catalog drops out of the cart view
    ]
    return {"items": items}


@router.put("/items/{sku_id}", response_model=CartItemOut)
async def put_item(
    sku_id: SkuId, body: CartItemBody, user_id: CurrentUser, cart: CartDep, sessions: SessionsDep
):
    sku = await catalog.get_sku(sessions, sku_id)
    await cart.put(user_id, sku_id, body.count, body.selected)
    return {
        "sku_id": sku_id,
        "name": sku["name"],
        "price": sku["price"],
        "count": body.count,
        "selected": body.selected,
    }


@router.delete("/items/{sku_id}", status_code=204)
async def delete_item(sku_id: SkuId, user_id: CurrentUser, cart: CartDep):
    await cart.remove(user_id, [sku_id])
    return Response(status_code=204)
