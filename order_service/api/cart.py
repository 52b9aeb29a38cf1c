from fastapi import APIRouter, Response

from order_service.api.deps import CartDep, CurrentUser, SessionsDep, SettingsDep
from order_service.api.params import SkuId
from order_service.api.schemas import CartItemBody, CartItemOut, CartOut
from order_service.services import cart as cart_service
from shared.errors import UNAUTHORIZED, problems

router = APIRouter(prefix="/api/cart", tags=["cart"])


@router.get(
    "", response_model=CartOut, summary="The caller's cart", responses=problems(UNAUTHORIZED)
)
async def get_cart(
    user_id: CurrentUser, cart: CartDep, sessions: SessionsDep, settings: SettingsDep
):
    items = await cart_service.cart_items(sessions, cart, user_id)
    return {"items": items, "freight": settings.freight}


@router.put(
    "/items/{sku_id}",
    response_model=CartItemOut,
    summary="Set the count of a SKU in the cart, and whether it is selected for checkout",
    responses=problems({**UNAUTHORIZED, 404: "`sku_not_found`."}),
)
async def put_item(
    sku_id: SkuId, body: CartItemBody, user_id: CurrentUser, cart: CartDep, sessions: SessionsDep
):
    return await cart_service.put_item(sessions, cart, user_id, sku_id, body.count, body.selected)


@router.delete(
    "/items/{sku_id}",
    status_code=204,
    summary="Take a SKU out of the cart",
    responses=problems(UNAUTHORIZED),
)
async def delete_item(sku_id: SkuId, user_id: CurrentUser, cart: CartDep):
    await cart.remove(user_id, [sku_id])
    return Response(status_code=204)
