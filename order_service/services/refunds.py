"""Refunds of an order: asked for by the merchant, made at Alipay by the payment service, and
applied here when its events arrive (the merchant's and those made in Alipay's console alike).

A refund event carries the payment's refunded total; the order keeps the largest it has heard,
so a repeated or late event changes nothing. When that total reaches the order's total and the
order is not yet shipped, it becomes `refunded` and its stock is returned, in one transaction.
"""

import uuid
from decimal import Decimal

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker

from order_service.clients.payment import PaymentClient
from order_service.domain.errors import Conflict, NotFound
from order_service.domain.states import OrderStatus, ensure_refundable, refund_returns_stock
from order_service.services.lifecycle import return_order_stock
from order_service.storage import refunds as refund_rows
from order_service.storage.order_queries import find_order
from order_service.storage.orders import transition
from shared.events import RefundEvent

log = structlog.get_logger(__name__)


def _missing(order_id: str) -> NotFound:
    return NotFound("order_not_found", f"There is no order {order_id}.")


async def request_refund(
    sessions: async_sessionmaker,
    payments: PaymentClient,
    order_id: str,
    amount: Decimal,
    reason: str,
    idempotency_key: str | None,
) -> dict:
    async with sessions() as session:
        row = await find_order(session, order_id)
    if row is None:
        raise _missing(order_id)
    ensure_refundable(row.status, row.pay_method)
    if amount > row.total_amount - row.refunded_amount:
        raise Conflict(
            "refund_exceeds_paid",
            f"{row.refunded_amount} of {row.total_amount} is refunded already.",
        )
    key = idempotency_key or f"auto-{uuid.uuid4().hex}"  # without a key, every call is new
    refund = await payments.refund(order_id, amount, reason, key)
    async with sessions() as session, session.begin():
        await refund_rows.upsert_refund(session, order_id, refund)
    log.info("refund_requested", order_id=order_id, refund_id=refund["refund_id"])
    return refund


async def list_refunds(sessions: async_sessionmaker, payments: PaymentClient, order_id: str):
    """The payment service's refunds of the order (its record, with errors of pending ones)."""
    async with sessions() as session:
        row = await find_order(session, order_id)
        if row is None:
            raise _missing(order_id)
    if row.pay_method != "alipay":
        return {"items": []}
    answer = await payments.refunds(order_id)
    return {"items": answer["items"]}


async def apply_refund_event(sessions: async_sessionmaker, event: RefundEvent) -> str:
    """`applied`; the order `refunded` (stock returned) when fully refunded before shipping."""
    async with sessions() as session, session.begin():
        row = await find_order(session, event.order_id)
        if row is None:
            raise _missing(event.order_id)
        await refund_rows.upsert_refund(session, event.order_id, event.model_dump())
        await refund_rows.raise_refunded_amount(session, event.order_id, event.refunded_amount)
        refunded = max(row.refunded_amount, event.refunded_amount)
        if refund_returns_stock(row.status, refunded, row.total_amount) and await transition(
            session, event.order_id, OrderStatus(row.status), OrderStatus.REFUNDED
        ):
            await return_order_stock(session, event.order_id)
            log.info("order_refunded", order_id=event.order_id)
    return "applied"
