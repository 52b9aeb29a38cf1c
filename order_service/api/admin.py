"""The merchant's back office (`/api/admin/`): admins only — 401 without a token, 403 for a
buyer's."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from order_service.api.deps import CurrentAdmin, PaymentsDep, SessionsDep
from order_service.api.orders import PAYMENT_UNAVAILABLE
from order_service.api.params import IdempotencyKey, Limit, Offset, OrderId, SkuId
from order_service.api.schemas import (
    MAX_DB_ID,
    SINGLE_LINE,
    AdminOrderList,
    AdminOrderOut,
    RefundBody,
    RefundList,
    RefundOut,
    ShipBody,
    SkuCreateBody,
    SkuOut,
    SkuPatchBody,
)
from order_service.domain.states import OrderStatus
from order_service.services import catalog, fulfilment, orders_read, refunds
from order_service.storage.order_queries import OrderFilter
from shared.errors import UNAUTHORIZED, problems

router = APIRouter(prefix="/api/admin", tags=["back office"])
ADMIN = {**UNAUTHORIZED, 403: "`forbidden`: the token is not an admin's."}
ANY_ORDER = ADMIN | {404: "`order_not_found`: no such order."}


@router.get(
    "/orders",
    response_model=AdminOrderList,
    summary="Search every buyer's orders, newest first, a page at a time",
    responses=problems(ADMIN),
)
async def search_orders(
    _: CurrentAdmin,
    sessions: SessionsDep,
    status: OrderStatus | None = None,
    user_id: Annotated[int | None, Query(gt=0, le=MAX_DB_ID)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=64, pattern=SINGLE_LINE)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    offset: Offset = 0,
    limit: Limit = 20,
):
    where = OrderFilter(
        user_id=user_id,
        status=status.value if status else None,
        q=q,
        created_from=created_from,
        created_to=created_to,
    )
    async with sessions() as session:
        return await orders_read.search_orders(session, where, offset, limit)


@router.get(
    "/orders/{order_id}",
    response_model=AdminOrderOut,
    summary="One order with its lines, buyer, address, shipment and refunds",
    responses=problems(ANY_ORDER),
)
async def get_order(order_id: OrderId, _: CurrentAdmin, sessions: SessionsDep):
    async with sessions() as session:
        return await orders_read.admin_order(session, order_id)


@router.post(
    "/orders/{order_id}/ship",
    response_model=AdminOrderOut,
    summary="Ship an order awaiting shipment: unsent → unreceived",
    responses=problems(ANY_ORDER | {409: "`order_not_shippable`: it is not unsent."}),
)
async def ship_order(order_id: OrderId, body: ShipBody, _: CurrentAdmin, sessions: SessionsDep):
    return await fulfilment.ship(sessions, order_id, body.carrier, body.tracking_no)


@router.post(
    "/orders/{order_id}/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund an order paid with Alipay, in full or in part (made at Alipay)",
    responses=problems(
        ANY_ORDER
        | {409: "`refund_exceeds_paid`, or `order_not_refundable` (not paid online)."}
        | PAYMENT_UNAVAILABLE
    ),
)
async def refund_order(
    order_id: OrderId,
    body: RefundBody,
    _: CurrentAdmin,
    sessions: SessionsDep,
    payments: PaymentsDep,
    idempotency_key: IdempotencyKey = None,
):
    return await refunds.request_refund(
        sessions, payments, order_id, body.amount, body.reason, idempotency_key
    )


@router.get(
    "/orders/{order_id}/refunds",
    response_model=RefundList,
    summary="An order's refunds as the payment service holds them",
    responses=problems(ANY_ORDER | PAYMENT_UNAVAILABLE),
)
async def order_refunds(
    order_id: OrderId, _: CurrentAdmin, sessions: SessionsDep, payments: PaymentsDep
):
    return await refunds.list_refunds(sessions, payments, order_id)


@router.post(
    "/skus",
    status_code=201,
    response_model=SkuOut,
    summary="Add a SKU (to the named goods, made when new)",
    responses=problems(ADMIN),
)
async def create_sku(body: SkuCreateBody, _: CurrentAdmin, sessions: SessionsDep):
    return await catalog.create_sku(sessions, body.name, body.price, body.stock, body.goods)


@router.patch(
    "/skus/{sku_id}",
    response_model=SkuOut,
    summary="Rename or reprice a SKU, or move its stock by a delta (atomically, never below 0)",
    responses=problems(
        {
            **ADMIN,
            404: "`sku_not_found`.",
            409: "`insufficient_stock`: the delta would take the stock below zero.",
        }
    ),
)
async def update_sku(sku_id: SkuId, body: SkuPatchBody, _: CurrentAdmin, sessions: SessionsDep):
    return await catalog.update_sku(sessions, sku_id, body.name, body.price, body.stock_delta)
