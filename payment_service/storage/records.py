"""Reads and guarded writes of payment rows; each takes the caller's session (its transaction)."""

import hashlib
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.domain import payments as states
from payment_service.domain.payments import (
    Payment,
    PaymentStatus,
    Refund,
    RefundOrigin,
    RefundStatus,
)
from payment_service.storage.tables import notifies, outbox, payments, refunds
from shared import events
from shared.db import claim_and_lease, insert_with_on_conflict
from shared.events import PAID_TOPIC, REFUND_REQUEST_TOPIC, REFUND_TOPIC, PaidEvent, RefundEvent
from shared.results import updated_rows
from shared.time import now_utc
from shared.tracing import current_trace_context


def payment_record(row: Row) -> Payment:
    return Payment(**{**row._mapping, "status": PaymentStatus(row.status)})


def refund_record(row: Row) -> Refund:
    return Refund(
        **{**row._mapping, "status": RefundStatus(row.status), "origin": RefundOrigin(row.origin)}
    )


T = TypeVar("T")


def known(record: T | None, what: str) -> T:
    """A record read back that must exist (written, or found, earlier in the transaction)."""
    if record is None:
        raise LookupError(f"{what} is missing")
    return record


async def _one_payment(session: AsyncSession, query) -> Payment | None:
    row = (await session.execute(query)).first()
    return None if row is None else payment_record(row)


async def payment_by_order(
    session: AsyncSession, order_id: str, lock: bool = False
) -> Payment | None:
    query = sa.select(payments).where(payments.c.order_id == order_id)
    if lock:
        query = query.with_for_update()
    return await _one_payment(session, query)


async def payments_by_orders(session: AsyncSession, order_ids: list[str]) -> dict[str, Payment]:
    """The payments of those of `order_ids` that have one, by order id."""
    query = sa.select(payments).where(payments.c.order_id.in_(order_ids))
    return {row.order_id: payment_record(row) for row in await session.execute(query)}


async def payment_by_out_trade_no(session: AsyncSession, out_trade_no: str) -> Payment | None:
    query = sa.select(payments).where(payments.c.out_trade_no == out_trade_no)
    return await _one_payment(session, query)


async def payment_by_trade_no(session: AsyncSession, trade_no: str) -> Payment | None:
    return await _one_payment(session, sa.select(payments).where(payments.c.trade_no == trade_no))


async def payment_by_id(session: AsyncSession, payment_id: int) -> Payment | None:
    return await _one_payment(session, sa.select(payments).where(payments.c.id == payment_id))


async def claim_due_checks(
    session: AsyncSession,
    now: datetime,
    after: timedelta,
    batch: int,
    next_check: Callable[[Row], datetime],
) -> list[Payment]:
    """Payments the reconciler should ask Alipay about, oldest due first, each given its next
    check (`next_check(row)`) in this transaction: open ones created over `after` ago whose
    check is due, and closed ones still watched (see services/reconcile.py)."""
    query = (
        sa.select(payments)
        .where(
            sa.or_(
                sa.and_(
                    payments.c.status == PaymentStatus.CREATED,
                    payments.c.created_at <= now - after,
                    sa.or_(payments.c.next_check_at.is_(None), payments.c.next_check_at <= now),
                ),
                sa.and_(payments.c.status == PaymentStatus.CLOSED, payments.c.next_check_at <= now),
            )
        )
        # a payment never checked yet is due `after` its creation; ordering it by created_at
        # gives first checks a head start of `after` over re-checks
        .order_by(sa.func.coalesce(payments.c.next_check_at, payments.c.created_at), payments.c.id)
        .limit(batch)
    )
    rows = await claim_and_lease(
        session, query, payments.c.id, lambda row: {"next_check_at": next_check(row)}
    )
    return [payment_record(row) for row in rows]


async def stop_watching(session: AsyncSession, payment_id: int) -> None:
    """A closed payment whose link has expired needs no more checks."""
    await session.execute(
        sa.update(payments)
        .where(payments.c.id == payment_id, payments.c.status == PaymentStatus.CLOSED)
        .values(next_check_at=None)
    )


async def insert_payment_once(session: AsyncSession, **values) -> Payment:
    """The order's payment: the row inserted now, or the one it had already (left unchanged).
    One statement, whole by itself, so it needs no transaction around it."""
    inserted = (
        await session.execute(
            insert_with_on_conflict(session, payments)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(payments)
        )
    ).first()
    if inserted is not None:
        return payment_record(inserted)
    return known(await payment_by_order(session, values["order_id"]), "the payment")


async def set_channel(session: AsyncSession, payment_id: int, channel: str) -> None:
    await session.execute(
        sa.update(payments).where(payments.c.id == payment_id).values(channel=channel)
    )


async def notifies_of(session: AsyncSession, out_trade_no: str) -> Sequence[RowMapping]:
    query = sa.select(notifies).where(notifies.c.out_trade_no == out_trade_no)
    return (await session.execute(query.order_by(notifies.c.id))).mappings().all()


async def refunds_of(session: AsyncSession, payment_id: int) -> list[Refund]:
    query = sa.select(refunds).where(refunds.c.payment_id == payment_id)
    return [refund_record(row) for row in await session.execute(query.order_by(refunds.c.id))]


async def move(session: AsyncSession, payment_id: int, target: PaymentStatus, **values) -> bool:
    """Guarded transition: applies only from an allowed source status; False if it did not."""
    result = await session.execute(
        sa.update(payments)
        .where(payments.c.id == payment_id, payments.c.status.in_(states.sources_of(target)))
        .values(status=target, **values)
    )
    return updated_rows(result) == 1


async def mark_paid(
    session: AsyncSession,
    payment: Payment,
    trade_no: str,
    paid_at: datetime | None,
    amounts: dict[str, Decimal] | None = None,
) -> bool:
    """Paid once, with its "paid" outbox event in the same transaction. False if already paid.
    `amounts`: the breakdown Alipay reported (receipt_amount, buyer_pay_amount, point_amount)."""
    paid_at = paid_at or now_utc()
    if not await move(
        session,
        payment.id,
        PaymentStatus.PAID,
        trade_no=trade_no,
        paid_at=paid_at,
        **(amounts or {}),
    ):
        return False
    await enqueue_paid_event(session, payment, trade_no, paid_at)
    return True


async def enqueue_paid_event(
    session: AsyncSession, payment: Payment, trade_no: str, paid_at: datetime
) -> None:
    """The "paid" event the relay delivers to the order service."""
    event_id = str(uuid.uuid4())
    event = PaidEvent(
        event_id=event_id,
        order_id=payment.order_id,
        amount=payment.amount,
        trade_no=trade_no,
        paid_at=paid_at,
    )
    await enqueue(session, PAID_TOPIC, event.model_dump(mode="json"), event_id)


async def enqueue(
    session: AsyncSession,
    topic: str,
    payload: dict,
    event_id: str | None = None,
    delay: timedelta | None = None,
) -> None:
    """An outbox row, in the caller's transaction; the relay handles it from now (+ delay)."""
    now = now_utc()
    await session.execute(
        sa.insert(outbox).values(
            id=event_id or str(uuid.uuid4()),
            topic=topic,
            payload=payload,
            created_at=now,
            next_attempt_at=now + delay if delay else now,
            trace_context=current_trace_context(),
        )
    )


CANCEL_REFUND_REASON = "alipay.trade.cancel: the buyer's time was up and the trade was paid"


async def record_cancel_refund(session: AsyncSession, payment: Payment, trade_no: str) -> bool:
    """alipay.trade.cancel refunded a paid trade in full: the payment was paid and is refunded,
    in one step, with its refund row; no "paid" event (the order is cancelled). A payment a
    notify recorded as paid meanwhile is refunded too (its relay then finds nothing to refund).
    False when there was nothing to record."""
    now = now_utc()
    moved = await move(
        session, payment.id, PaymentStatus.PAID, trade_no=trade_no or None, paid_at=now
    )
    if not moved:
        current = known(await payment_by_id(session, payment.id), "the payment")
        if current.status != PaymentStatus.PAID:
            return False
    if await refund_of(session, states.cancel_request_no(payment.out_trade_no)):
        return False
    await session.execute(
        sa.insert(refunds).values(
            payment_id=payment.id,
            out_request_no=states.cancel_request_no(payment.out_trade_no),
            amount=payment.amount,
            reason=CANCEL_REFUND_REASON,
            status=RefundStatus.SUCCEEDED,
            created_at=now,
            refunded_at=now,
        )
    )
    return await move(
        session, payment.id, PaymentStatus.REFUNDED, refunded_amount=payment.amount, closed_at=now
    )


async def record_notify(
    session: AsyncSession,
    body: bytes,
    verified: bool,
    outcome: str,
    params: dict | None,
    keep_bytes: int | None = None,
) -> None:
    """One notify as received; with keep_bytes, raw_body keeps only that many first bytes (the
    digest and the size are of the whole body)."""
    params = params or {}
    digest, size = hashlib.sha256(body).hexdigest(), len(body)
    if keep_bytes is not None:
        body = body[:keep_bytes]
    try:
        text = body.decode(params.get("charset") or "utf-8")
    except (UnicodeDecodeError, LookupError):
        text = None
    if text is not None and "\x00" in text:
        text = None  # PostgreSQL text cannot hold NUL; raw_body keeps the bytes
    await session.execute(
        sa.insert(notifies).values(
            received_at=now_utc(),
            raw_body=body,
            raw_text=text,
            verified=verified,
            outcome=outcome,
            notify_id=_clipped(params, "notify_id", 128),
            out_trade_no=_clipped(params, "out_trade_no", 64),
            trade_status=_clipped(params, "trade_status", 32),
            body_sha256=digest,
            body_size=size,
        )
    )


def _clipped(params: dict, name: str, size: int) -> str | None:
    """A field for an indexed column; the full text stays in raw_body."""
    return params.get(name, "")[:size] or None


async def refund_of(session: AsyncSession, out_request_no: str) -> Refund | None:
    query = sa.select(refunds).where(refunds.c.out_request_no == out_request_no)
    row = (await session.execute(query)).first()
    return None if row is None else refund_record(row)


async def ensure_refund(
    session: AsyncSession, payment: Payment, out_request_no: str, amount: Decimal, reason: str
):
    """The refund row for this request number, created as `requested` the first time."""
    existing = await refund_of(session, out_request_no)
    if existing:
        return existing
    await session.execute(
        sa.insert(refunds).values(
            payment_id=payment.id,
            out_request_no=out_request_no,
            amount=amount,
            reason=reason,
            status=RefundStatus.REQUESTED,
            created_at=now_utc(),
        )
    )
    return await refund_of(session, out_request_no)


async def complete_refund(session: AsyncSession, refund: Refund, payment: Payment) -> None:
    await settle_refund(session, refund)


async def settle_refund(session: AsyncSession, refund: Refund, from_failed: bool = False) -> bool:
    """The refund made at Alipay: `succeeded`, its amount added to the payment's refunded total
    (the payment `refunded` once that reaches what was paid), and the order service told for a
    refund of the merchant's or Alipay's console. Guarded: False (nothing done) when it was
    settled already. `from_failed`: Alipay's notify proves a refund we had marked failed."""
    sources = (
        (RefundStatus.REQUESTED, RefundStatus.FAILED) if from_failed else (RefundStatus.REQUESTED,)
    )
    # Lock order: the payment row first, then its refunds, as a new refund takes them; settling
    # the refund first deadlocked against a refund being requested or retried at the same time.
    await session.execute(
        sa.select(payments.c.id).where(payments.c.id == refund.payment_id).with_for_update()
    )
    settled = await session.execute(
        sa.update(refunds)
        .where(refunds.c.id == refund.id, refunds.c.status.in_(sources))
        .values(status=RefundStatus.SUCCEEDED, refunded_at=now_utc(), last_error=None)
    )
    if updated_rows(settled) != 1:
        return False
    await session.execute(
        sa.update(payments)
        .where(payments.c.id == refund.payment_id)
        .values(refunded_amount=payments.c.refunded_amount + refund.amount)
    )
    payment = known(await payment_by_id(session, refund.payment_id), "the refund's payment")
    if payment.refunded_amount >= payment.amount:
        await move(session, payment.id, PaymentStatus.REFUNDED)
    settled_refund = known(await refund_of(session, refund.out_request_no), "the refund")
    await enqueue_refund_event(session, payment, settled_refund)
    return True


async def fail_refund(session: AsyncSession, refund: Refund, reason: str) -> None:
    """Alipay refused the refund for good: `failed`, with its reason, for a person to act on."""
    failed = await session.execute(
        sa.update(refunds)
        .where(refunds.c.id == refund.id, refunds.c.status == RefundStatus.REQUESTED)
        .values(status=RefundStatus.FAILED, last_error=reason[:1000])
    )
    if updated_rows(failed) == 1:
        payment = known(await payment_by_id(session, refund.payment_id), "the refund's payment")
        failed_refund = known(await refund_of(session, refund.out_request_no), "the refund")
        await enqueue_refund_event(session, payment, failed_refund)


async def note_refund_error(session: AsyncSession, refund: Refund, error: str) -> None:
    """A refund still to be retried keeps why the last attempt did not settle it (visible)."""
    await session.execute(
        sa.update(refunds)
        .where(refunds.c.id == refund.id, refunds.c.status == RefundStatus.REQUESTED)
        .values(last_error=error[:1000])
    )


# a refund's status as the order service knows it (shared.events.RefundStatus)
REFUND_STATUS: dict[RefundStatus, events.RefundStatus] = {
    RefundStatus.REQUESTED: "pending",
    RefundStatus.SUCCEEDED: "succeeded",
    RefundStatus.FAILED: "failed",
}


def refund_event(payment: Payment, refund: Refund) -> RefundEvent:
    return RefundEvent(
        event_id=str(uuid.uuid4()),
        order_id=payment.order_id,
        refund_id=refund.out_request_no,
        amount=refund.amount,
        reason=refund.reason,
        status=REFUND_STATUS[refund.status],
        error=(refund.last_error or "")[:1000] or None,
        created_at=refund.created_at,
        refunded_amount=payment.refunded_amount,
    )


async def enqueue_refund_event(session: AsyncSession, payment: Payment, refund: Refund) -> None:
    """Tell the order service (the automatic refund of a late payment is not the order's)."""
    if refund.origin == RefundOrigin.LATE_PAYMENT:
        return
    event = refund_event(payment, refund)
    await enqueue(session, REFUND_TOPIC, event.model_dump(mode="json"), event.event_id)


async def add_refund(
    session: AsyncSession,
    payment: Payment,
    amount: Decimal,
    reason: str,
    origin: RefundOrigin,
    out_request_no: str | None = None,
    request_key: str | None = None,
) -> Refund:
    """A new `requested` refund; without a number, the payment's next `<out_trade_no>R<n>`.
    The caller holds the payment's row lock, so two refunds never take the same number."""
    if out_request_no is None:
        taken = {refund.out_request_no for refund in await refunds_of(session, payment.id)}
        n = len(taken) + 1
        while states.refund_request_no(payment.out_trade_no, n) in taken:
            n += 1
        out_request_no = states.refund_request_no(payment.out_trade_no, n)
    await session.execute(
        sa.insert(refunds).values(
            payment_id=payment.id,
            out_request_no=out_request_no,
            amount=amount,
            reason=reason[:256],
            status=RefundStatus.REQUESTED,
            created_at=now_utc(),
            origin=origin,
            request_key=request_key,
        )
    )
    refund = known(await refund_of(session, out_request_no), "the new refund")
    # the relay makes a merchant's refund at Alipay should the first attempt not settle it
    if origin == RefundOrigin.MERCHANT:
        await enqueue(
            session,
            REFUND_REQUEST_TOPIC,
            {"order_id": payment.order_id, "out_request_no": out_request_no},
            delay=REFUND_RETRY_DELAY,
        )
    return refund


REFUND_RETRY_DELAY = timedelta(seconds=5)


async def refund_by_key(session: AsyncSession, payment_id: int, request_key: str) -> Refund | None:
    query = sa.select(refunds).where(
        refunds.c.payment_id == payment_id, refunds.c.request_key == request_key
    )
    row = (await session.execute(query)).first()
    return None if row is None else refund_record(row)


async def committed_refunds(session: AsyncSession, payment_id: int) -> Decimal:
    """Refunded or still being asked for (every refund that has not failed)."""
    total = await session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(refunds.c.amount), 0)).where(
            refunds.c.payment_id == payment_id, refunds.c.status != RefundStatus.FAILED
        )
    )
    return Decimal(total.scalar_one())  # an aggregate: always one row


async def reopen_refund(session: AsyncSession, payment_id: int) -> bool:
    """A failed refund back to `requested`, so it is asked for again; False if none failed."""
    result = await session.execute(
        sa.update(refunds)
        .where(refunds.c.payment_id == payment_id, refunds.c.status == RefundStatus.FAILED)
        .values(status=RefundStatus.REQUESTED, last_error=None)
    )
    return updated_rows(result) == 1
