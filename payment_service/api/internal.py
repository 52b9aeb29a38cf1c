"""Routes the order service calls; every one needs a signature made with SERVICE_AUTH_SECRET."""

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, Field

from payment_service.api.deps import RuntimeDep
from payment_service.domain.errors import NotFound
from payment_service.domain.payments import BatchCloseOutcome, CloseOutcome, Refund
from payment_service.services.payments import close_payment, close_payments, create_payment
from payment_service.services.refunds import request_refund
from payment_service.storage import records
from shared.events import RefundStatus
from shared.money import Money, format_money
from shared.service_auth import internal_router

router = internal_router(lambda request: request.app.state.runtime.settings.service_auth_secret)

ORDER_ID_PATTERN = r"^[A-Za-z0-9]{1,64}$"
OrderId = Annotated[str, Path(pattern=ORDER_ID_PATTERN)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("pay_deadline needs a time zone (ISO-8601 with Z or an offset)")
    return value


class PaymentRequest(BaseModel):
    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    amount: Annotated[Money, Field(ge=Decimal("0.01"), le=Decimal("100000000"))]
    subject: str = Field(min_length=1, max_length=256)
    channel: Literal["page", "wap"] = "page"
    pay_deadline: Annotated[datetime, AfterValidator(_aware)]


class PaymentLink(BaseModel):
    order_id: str
    out_trade_no: str
    status: str
    amount: Money
    pay_url: str


class CloseResult(BaseModel):
    order_id: str
    status: CloseOutcome


@router.post("/payments", response_model=PaymentLink)
async def create(body: PaymentRequest, rt: RuntimeDep) -> PaymentLink:
    payment, url = await create_payment(
        rt, body.order_id, body.amount, body.subject, body.channel, body.pay_deadline
    )
    return PaymentLink(
        order_id=payment.order_id,
        out_trade_no=payment.out_trade_no,
        status=payment.status,
        amount=payment.amount,
        pay_url=url,
    )


@router.post("/payments/{order_id}/close", response_model=CloseResult)
async def close(order_id: OrderId, rt: RuntimeDep) -> CloseResult:
    return CloseResult(order_id=order_id, status=await close_payment(rt, order_id))


MAX_CLOSE_BATCH = 500


class CloseBatch(BaseModel):
    order_ids: list[Annotated[str, Field(pattern=ORDER_ID_PATTERN)]] = Field(
        min_length=1, max_length=MAX_CLOSE_BATCH
    )
    concurrency: int = Field(10, ge=1, le=64)  # Alipay calls at once


class BatchCloseResult(BaseModel):
    order_id: str
    status: BatchCloseOutcome


class CloseBatchResults(BaseModel):
    results: list[BatchCloseResult]


@router.post("/payments/close", response_model=CloseBatchResults)
async def close_batch(body: CloseBatch, rt: RuntimeDep) -> CloseBatchResults:
    """The expiry sweeper's round in one call: each order as `/payments/{id}/close` answers,
    or `unavailable` where Alipay could not settle it (that order only)."""
    order_ids = list(dict.fromkeys(body.order_ids))
    answers = await close_payments(rt, order_ids, body.concurrency)
    return CloseBatchResults(
        results=[BatchCloseResult(order_id=o, status=answers[o]) for o in order_ids]
    )


class RefundRequest(BaseModel):
    amount: Annotated[Money, Field(ge=Decimal("0.01"), le=Decimal("100000000"))]
    reason: str = Field(min_length=1, max_length=256)
    request_key: str = Field(min_length=1, max_length=255)


class RefundOut(BaseModel):
    refund_id: str
    amount: Money
    reason: str
    status: RefundStatus
    error: str | None
    created_at: datetime
    origin: str


class RefundList(BaseModel):
    items: list[RefundOut]
    refunded_amount: Money


def _refund_out(row: Refund) -> RefundOut:
    return RefundOut(
        refund_id=row.out_request_no,
        amount=row.amount,
        reason=row.reason,
        status=records.REFUND_STATUS[row.status],
        error=row.last_error,
        created_at=row.created_at,
        origin=row.origin,
    )


@router.post("/payments/{order_id}/refunds", status_code=201, response_model=RefundOut)
async def refund(order_id: OrderId, body: RefundRequest, rt: RuntimeDep) -> RefundOut:
    """A merchant refund (the same request_key answers the same refund), tried at Alipay once;
    `pending` when that did not settle it (the relay keeps asking). 409 `refund_exceeds_paid` or
    `order_not_refundable` (domain errors, api/errors.py)."""
    row = await request_refund(rt, order_id, body.amount, body.reason, body.request_key)
    return _refund_out(row)


@router.get("/payments/{order_id}/refunds", response_model=RefundList)
async def list_refunds(order_id: OrderId, rt: RuntimeDep) -> RefundList:
    async with rt.sessions() as session:
        payment = await records.payment_by_order(session, order_id)
        if payment is None:
            return RefundList(items=[], refunded_amount=Decimal("0"))
        rows = await records.refunds_of(session, payment.id)
    return RefundList(
        items=[_refund_out(row) for row in rows], refunded_amount=payment.refunded_amount
    )


@router.get("/payments/{order_id}")
async def show(order_id: OrderId, rt: RuntimeDep) -> dict:
    """The payment record with its notifies and refunds (for support staff and tests)."""
    async with rt.sessions() as session:
        payment = await records.payment_by_order(session, order_id)
        if payment is None:
            raise NotFound("payment_not_found", f"No payment for order {order_id}.")
        notify_rows = await records.notifies_of(session, payment.out_trade_no)
        refund_rows = await records.refunds_of(session, payment.id)
    return {
        **_jsonable(asdict(payment), drop=("id",)),
        "notifies": [_jsonable(row, drop=("raw_body",)) for row in notify_rows],
        "refunds": [_jsonable(asdict(refund), drop=("payment_id",)) for refund in refund_rows],
    }


def _jsonable(row, drop=()) -> dict:
    out = {}
    for key, value in row.items():
        if key in drop:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif hasattr(value, "quantize"):
            value = format_money(value)
        out[key] = value
    return out
