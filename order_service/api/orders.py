from typing import Annotated

from fastapi import APIRouter, Body, Response

from order_service.api.deps import CheckoutDep, CurrentUser, PaymentsDep, SessionsDep
from order_service.api.params import IdempotencyKey, Limit, Offset, OrderId
from order_service.api.schemas import (
    CommentsBody,
    OrderBody,
    OrderList,
    OrderOut,
    PaymentBody,
    PaymentLinkOut,
)
from order_service.domain.states import OrderStatus
from order_service.services import fulfilment, lifecycle, orders_read
from order_service.services.checkout import OrderRequest
from shared.errors import UNAUTHORIZED, problems

router = APIRouter(prefix="/api/orders", tags=["orders"])
# The problems every route on one order may answer, beside its own 409.
ORDER_NOT_FOUND = {404: "`order_not_found`: no such order (or not the caller's)."}
PAYMENT_UNAVAILABLE = {503: "`payment_unavailable`: the payment service cannot be reached."}
OWN_ORDER = UNAUTHORIZED | ORDER_NOT_FOUND


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    summary="Place an order, from given items or from the cart's selected items",
    responses=problems(
        {
            **UNAUTHORIZED,
            400: "`empty_cart`: no items given and none selected in the cart.",
            404: "`address_not_found` or `sku_not_found`.",
            409: "`insufficient_stock` (with `sku_id`), or `stock_contention`: retry.",
            422: "`validation_error`, or `idempotency_key_reused` with another body.",
        }
    ),
)
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


@router.get(
    "",
    response_model=OrderList,
    summary="The caller's orders, newest first, a page at a time",
    responses=problems(UNAUTHORIZED),
)
async def list_orders(
    user_id: CurrentUser,
    sessions: SessionsDep,
    status: OrderStatus | None = None,
    offset: Offset = 0,
    limit: Limit = 20,
):
    async with sessions() as session:
        return await orders_read.list_orders(
            session, user_id, status.value if status else None, offset, limit
        )


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    summary="One of the caller's orders",
    responses=problems(OWN_ORDER),
)
async def get_order(order_id: OrderId, user_id: CurrentUser, sessions: SessionsDep):
    async with sessions() as session:
        return await orders_read.load_order(session, order_id, user_id)


@router.post(
    "/{order_id}/payment",
    response_model=PaymentLinkOut,
    summary="A signed Alipay payment link for an unpaid order",
    responses=problems(
        OWN_ORDER
        | {409: "`order_not_payable`: not unpaid, not paid with Alipay, or past its deadline."}
        | PAYMENT_UNAVAILABLE
    ),
)
async def create_payment_link(
    order_id: OrderId,
    user_id: CurrentUser,
    sessions: SessionsDep,
    payments: PaymentsDep,
    body: Annotated[PaymentBody | None, Body()] = None,
):
    channel = (body or PaymentBody()).channel
    return {"pay_url": await lifecycle.payment_link(sessions, payments, user_id, order_id, channel)}


@router.post(
    "/{order_id}/cancel",
    response_model=OrderOut,
    summary="Cancel an unpaid order and return its stock",
    responses=problems(
        OWN_ORDER
        | {
            409: "`order_not_cancelable`: not unpaid, or paid at Alipay meanwhile.",
            503: "`payment_unavailable`: Alipay's trade could not be confirmed closed.",
        }
    ),
)
async def cancel_order(
    order_id: OrderId, user_id: CurrentUser, sessions: SessionsDep, payments: PaymentsDep
):
    return await lifecycle.cancel_by_user(sessions, payments, user_id, order_id)


@router.post(
    "/{order_id}/receive",
    response_model=OrderOut,
    summary="Confirm the goods arrived: unreceived → uncomment",
    responses=problems(
        OWN_ORDER | {409: "`order_not_receivable`: it is not shipped and awaiting receipt."}
    ),
)
async def receive_order(order_id: OrderId, user_id: CurrentUser, sessions: SessionsDep):
    return await fulfilment.receive(sessions, user_id, order_id)


@router.post(
    "/{order_id}/comments",
    response_model=OrderOut,
    summary="Score and comment each item of a received order: uncomment → finished",
    responses=problems(
        OWN_ORDER
        | {
            409: "`order_not_commentable`: it is not received, or already commented.",
            422: "`validation_error`, or `comments_do_not_match_lines`: one per item, no more.",
        }
    ),
)
async def comment_order(
    order_id: OrderId, body: CommentsBody, user_id: CurrentUser, sessions: SessionsDep
):
    items = [item.model_dump() for item in body.items]
    return await fulfilment.comment(sessions, user_id, order_id, items)
