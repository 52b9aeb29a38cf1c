"""After checkout: the payment link, paid events, cancellation by the user and by expiry.

Every status change is a guarded transition (`storage/orders.transition`), so of two racing
changes (a paid event and a cancel, two sweeper replicas, a user's double click) exactly one
applies. Calls to the payment service happen outside any database transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from order_service import metrics
from order_service.clients.payment import PaymentClient
from order_service.domain.errors import Conflict, DomainError
from order_service.domain.states import (
    PAID_STATUSES,
    OrderStatus,
    PayMethod,
    ensure_cancelable,
    ensure_payable,
)
from order_service.services.orders_read import load_order, not_found, order_to_pay
from order_service.storage.expiry import cancel_unpaid
from order_service.storage.order_queries import find_order, find_orders, line_counts, order_status
from order_service.storage.orders import record_trade_no, transition
from order_service.storage.stock import return_stock
from shared.db import autocommit_session
from shared.events import PaidEvent
from shared.money import to_money
from shared.time import now_utc

log = structlog.get_logger(__name__)


async def payment_link(
    sessions: async_sessionmaker, payments: PaymentClient, user_id: int, order_id: str, channel: str
) -> str:
    async with autocommit_session(sessions) as session:
        order = await order_to_pay(session, order_id, user_id)
    ensure_payable(order["status"], order["pay_method"])
    if order["pay_deadline"] <= now_utc():
        raise Conflict("order_not_payable", "This order is past its payment deadline.")
    return await payments.create_payment(
        order_id, order["total_amount"], order["subject"], channel, order["pay_deadline"]
    )


@dataclass(frozen=True)
class PaymentEventOutcome:
    event: PaidEvent
    result: str  # applied | already_applied | refused
    refusal: DomainError | None = None


async def apply_payment_event(sessions: async_sessionmaker, event: PaidEvent) -> str:
    """`applied` the first time, `already_applied` after; 409 for a cancelled order."""
    [outcome] = await apply_payment_events(sessions, [event])
    if outcome.refusal is not None:
        raise outcome.refusal
    return outcome.result


async def apply_payment_events(
    sessions: async_sessionmaker, events: Sequence[PaidEvent]
) -> list[PaymentEventOutcome]:
    """Each event's outcome, in the order given, all applied in one transaction. Orders are
    updated in ascending order id (the lock order of any two batches); a refused event writes
    nothing, so it does not fail the others."""
    results: dict[int, tuple[str, DomainError | None]] = {}
    async with sessions() as session, session.begin():
        rows = await find_orders(session, sorted({event.order_id for event in events}))
        for index, event in sorted(enumerate(events), key=lambda pair: pair[1].order_id):
            try:
                results[index] = (await _apply_paid(session, event, rows.get(event.order_id)), None)
            except DomainError as refusal:
                results[index] = ("refused", refusal)
    outcomes = [PaymentEventOutcome(event, *results[i]) for i, event in enumerate(events)]
    for outcome in outcomes:
        code = outcome.refusal.code if outcome.refusal else None
        metrics.PAYMENT_EVENTS.labels(outcome.result).inc()
        log.info("payment_event", order_id=outcome.event.order_id, result=outcome.result, code=code)
    return outcomes


async def _apply_paid(session: AsyncSession, event: PaidEvent, row) -> str:
    """`row`: the event's order as read before the batch (None: there is none). Raises before it
    writes anything, so a refusal leaves the transaction usable."""
    if row is None:
        raise not_found(event.order_id)
    if to_money(row.total_amount) != to_money(event.amount):
        log.error("payment_amount_mismatch", order_id=event.order_id, amount=str(event.amount))
        raise Conflict("amount_mismatch", "The paid amount differs from the order total.")
    if row.pay_method != PayMethod.ALIPAY:
        raise Conflict("order_not_payable", "A cash order is not paid online.")
    if await _mark_paid(session, event.order_id, event.paid_at, event.trade_no):
        return "applied"
    return await _after_missed_transition(session, event.order_id, event.trade_no, event.paid_at)


async def _mark_paid(
    session: AsyncSession, order_id: str, paid_at: datetime, trade_no: str | None
) -> bool:
    return await transition(
        session,
        order_id,
        OrderStatus.UNPAID,
        OrderStatus.UNSENT,
        paid_at=paid_at,
        trade_no=trade_no,
    )


async def _after_missed_transition(
    session: AsyncSession, order_id: str, trade_no: str, paid_at: datetime
) -> str:
    status = await order_status(session, order_id)
    if status == OrderStatus.CANCELED:
        raise Conflict("order_canceled", "The order was cancelled before the payment arrived.")
    if status in PAID_STATUSES:
        # A close that found the trade paid marks the order paid without the trade number.
        await record_trade_no(session, order_id, trade_no, paid_at)
        return "already_applied"
    raise Conflict("order_not_payable", f"An order that is {status} cannot be paid.")


async def cancel_by_user(
    sessions: async_sessionmaker, payments: PaymentClient, user_id: int, order_id: str
) -> dict:
    async with sessions() as session:
        row = await find_order(session, order_id, user_id)
    if row is None:
        raise not_found(order_id)
    ensure_cancelable(row.status)
    outcome = await cancel_or_mark_paid(sessions, payments, row, "user")
    if outcome == CancelOutcome.PAID:
        raise Conflict("order_not_cancelable", "The order was paid; it can no longer be cancelled.")
    if outcome == CancelOutcome.NOT_UNPAID:
        raise Conflict(
            "order_not_cancelable", "The order changed meanwhile; it is no longer unpaid."
        )
    async with sessions() as session:
        return await load_order(session, order_id, user_id)


class CancelOutcome(StrEnum):
    CANCELED = "canceled"  # by this call: stock and sales returned
    PAID = "paid"  # the payment service found the trade paid; the order is paid instead
    NOT_UNPAID = "not_unpaid"  # someone else moved it first (another cancel, a paid event)


async def cancel_or_mark_paid(
    sessions: async_sessionmaker, payments: PaymentClient, row, reason: str
) -> CancelOutcome:
    """Close the Alipay trade first; cancel only once no payment can succeed any more.

    Raises PaymentUnavailable when the payment service cannot confirm the close: the order then
    stays unpaid (a user may retry; the sweeper retries next round).
    """
    if not await close_or_mark_paid(sessions, payments, row, reason):
        return CancelOutcome.PAID
    return await cancel_order(sessions, row.order_id, reason)


async def close_or_mark_paid(
    sessions: async_sessionmaker, payments: PaymentClient, row, reason: str
) -> bool:
    """True when no payment can succeed any more, so the order may be cancelled (an Alipay
    order's trade closed at the payment service; a cash order has none). False when the payment
    service found the trade paid: the order is marked paid instead. PaymentUnavailable when the
    close cannot be confirmed."""
    alipay = row.pay_method == PayMethod.ALIPAY
    if alipay and await payments.close_payment(row.order_id) == "paid":
        await mark_found_paid(sessions, row.order_id, reason)
        return False
    return True


async def mark_found_paid(sessions: async_sessionmaker, order_id: str, reason: str) -> None:
    """The payment service, asked to close, found the trade paid: the order is paid instead
    (its trade number comes with the paid event that follows)."""
    async with sessions() as session, session.begin():
        await _mark_paid(session, order_id, now_utc(), None)
    log.info("cancel_found_paid", order_id=order_id, reason=reason)


async def cancel_order(sessions: async_sessionmaker, order_id: str, reason: str) -> CancelOutcome:
    """Guarded cancel; returns stock and SKU/SPU sales in the same transaction."""
    if await cancel_orders(sessions, [order_id], reason):
        return CancelOutcome.CANCELED
    return CancelOutcome.NOT_UNPAID


async def cancel_orders(
    sessions: async_sessionmaker, order_ids: list[str], reason: str
) -> list[str]:
    """Guarded cancel of many orders in one transaction (the sweeper's batch: one UPDATE of the
    orders, one of each SKU), stock and sales returned for those still unpaid; the ids this call
    cancelled (someone else moved the others first)."""
    if not order_ids:
        return []
    async with sessions() as session, session.begin():
        canceled = await cancel_unpaid(session, order_ids, now_utc(), reason)
    if canceled:
        metrics.ORDERS_CANCELED.labels(reason).inc(len(canceled))
        log.info("orders_canceled", order_ids=canceled, reason=reason)
    return canceled


async def return_order_stock(session: AsyncSession, order_id: str) -> None:
    """Every unit of the order back to stock (and out of sales), in the caller's transaction."""
    await return_stock(session, await line_counts(session, order_id))
