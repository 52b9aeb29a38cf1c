from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Response

from order_service.api.deps import CheckoutDep, CurrentUser, PaymentsDep, SessionsDep
from order_service.api.schemas import OrderBody, OrderList, OrderOut, PaymentBody, PaymentLinkOut
from order_service.services import lifecycle, orders_read
from order_service.services.checkout import OrderRequest

router = APIRouter(prefix="/api/orders", tags=["orders"])
# Order ids are letters and digits (they are Alipay's out_trade_no); anything else, NUL
# included, is malformed and never reaches the database.
OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,64}$")]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]


@router.post("", status_code=201, response_model=OrderOut)
async def create_order(
    body: OrderBody,
    response: Response,
    user_id: CurrentUser,
    checkout: CheckoutDep,
    idempotency_key: IdempotencyKey = None,
):
    order_request = OrderRequest(
        user_id=user_id,
        address_id=body.address_id,
        pay_method=body.pay_method,
        items=[(item.sku_id, item.count) for item in body.items] if body.items else None,
        body=body.model_dump(mode="json"),
    )
    placed = await checkout.place(order_request, idempotency_key)
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return placed.order


@router.get("", response_model=OrderList)
async def list_orders(user_id: CurrentUser, sessions: SessionsDep):
    async with sessions() as session:
        return {"items": await orders_read.list_orders(session, user_id)}


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(order_id: OrderId, user_id: CurrentUser, sessions: SessionsDep):
    async with sessions() as session:
        return await orders_read.load_order(session, order_id, user_id)


@router.post("/{order_id}/payment", response_model=PaymentLinkOut)
async def create_payment_link(
    order_id: OrderId,
    user_id: CurrentUser,
    sessions: SessionsDep,
    payments: PaymentsDep,
    body: Annotated[PaymentBody | None, Body()] = None,
):
    channel = (body or PaymentBody()).channel
    return {"pay_url": await lifecycle.payment_link(sessions, payments, user_id, order_id, channel)}


@router.post("/{order_id}/cancel", response_model=OrderOut)
async def cancel_order(
    order_id: OrderId, user_id: CurrentUser, sessions: SessionsDep, payments: PaymentsDep
):
    return await lifecycle.cancel_by_user(sessions, payments, user_id, order_id)
