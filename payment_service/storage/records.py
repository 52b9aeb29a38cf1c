"""Reads and guarded writes of payment rows; each takes the caller's session (its transaction)."""

import hashlib
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.domain import payments as states
from payment_service.storage.tables import notifies, outbox, payments, refunds, utcnow
from shared.events import (
    PAID_TOPIC,
    REFUND_REQUEST_TOPIC,
    REFUND_TOPIC,
    PaidEvent,
    RefundEvent,
    RefundStatus,
)
from shared.results import updated_rows
from shared.tracing import current_trace_context


async def payment_by_order(session: AsyncSession, order_id: str, lock: bool = False):
    query = sa.select(payments).where(payments.c.order_id == order_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).mappings().first()


async def payment_by_out_trade_no(session: AsyncSession, out_trade_no: str):
    query = sa.select(payments).where(payments.c.out_trade_no == out_trade_no)
    return (await session.execute(query)).mappings().first()


async def payment_by_trade_no(session: AsyncSession, trade_no: str):
    query = sa.select(payments).where(payments.c.trade_no == trade_no)
    return (await session.execute(query)).mappings().first()


async def payment_by_id(session: AsyncSession, payment_id: int):
    query = sa.select(payments).where(payments.c.id == payment_id)
    return (await session.execute(query)).mappings().first()


async def move(session: AsyncSession, payment_id: int, target: str, **values) -> bool:
    """Guarded transition: applies only from an allowed source status; False if it did not."""
    result = await session.execute(
        sa.update(payments)
        .where(payments.c.id == payment_id, payments.c.status.in_(states.sources_of(target)))
        .values(status=target, **values)
    )
    return updated_rows(result) == 1


async def mark_paid(
    session: AsyncSession,
    payment,
    trade_no: str,
    paid_at: datetime | None,
    amounts: dict[str, Decimal] | None = None,
) -> bool:
    """Paid once, with its "paid" outbox event in the same transaction. False if already paid.
    `amounts`: the breakdown Alipay reported (receipt_amount, buyer_pay_amount, point_amount)."""
    paid_at = paid_at or utcnow()
    if not await move(
        session, payment["id"], states.PAID, trade_no=trade_no, paid_at=paid_at, **(amounts or {})
    ):
        return False
    await enqueue_paid_event(session, payment, trade_no, paid_at)
    return True


async def enqueue_paid_event(
    session: AsyncSession, payment, trade_no: str, paid_at: datetime
) -> None:
    """The "paid" event the relay delivers to the order service."""
    event_id = str(uuid.uuid4())
    event = PaidEvent(
        event_id=event_id,
        order_id=payment["order_id"],
        amount=payment["amount"],
        trade_no=trade_no,
        paid_at=paid_at,
    )
    await enqueue(session, PAID_TOPIC, event.model_dump(mode="json"), event_id)


async def enqueue(
    session: AsyncSession, topic: str, payload: dict, event_id: str | None = None, delay=None
) -> None:
    """An outbox row, in the caller's transaction; the relay handles it from now (+ delay)."""
    now = utcnow()
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


async def record_cancel_refund(session: AsyncSession, payment, trade_no: str) -> bool:
    """alipay.trade.cancel refunded a paid trade in full: the payment was paid and is refunded,
    in one step, with its refund row; no "paid" event (the order is cancelled). A payment a
    notify recorded as paid meanwhile is refunded too (its relay then finds nothing to refund).
    False when there was nothing to record."""
    now = utcnow()
    moved = await move(session, payment["id"], states.PAID, trade_no=trade_no or None, paid_at=now)
    if not moved:
        current = await payment_by_id(session, payment["id"])
        if current["status"] != states.PAID:
            return False
    if await refund_of(session, states.cancel_request_no(payment["out_trade_no"])):
        return False
    await session.execute(
        sa.insert(refunds).values(
            payment_id=payment["id"],
            out_request_no=states.cancel_request_no(payment["out_trade_no"]),
            amount=payment["amount"],
            reason=CANCEL_REFUND_REASON,
            status="succeeded",
            created_at=now,
            refunded_at=now,
        )
    )
    return await move(
        session, payment["id"], states.REFUNDED, refunded_amount=payment["amount"], closed_at=now
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
            received_at=utcnow(),
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


async def refund_of(session: AsyncSession, out_request_no: str):
    query = sa.select(refunds).where(refunds.c.out_request_no == out_request_no)
    return (await session.execute(query)).mappings().first()


async def ensure_refund(
    session: AsyncSession, payment, out_request_no: str, amount: Decimal, reason: str
):
    """The refund row for this request number, created as `requested` the first time."""
    existing = await refund_of(session, out_request_no)
    if existing:
        return existing
    await session.execute(
        sa.insert(refunds).values(
            payment_id=payment["id"],
            out_request_no=out_request_no,
            amount=amount,
            reason=reason,
            status="requested",
            created_at=utcnow(),
        )
    )
    return await refund_of(session, out_request_no)


async def complete_refund(session: AsyncSession, refund, payment) -> None:
    await settle_refund(session, refund)


async def settle_refund(session: AsyncSession, refund, from_failed: bool = False) -> bool:
    """The refund made at Alipay: `succeeded`, its amount added to the payment's refunded total
    (the payment `refunded` once that reaches what was paid), and the order service told for a
    refund of the merchant's or Alipay's console. Guarded: False (nothing done) when it was
    settled already. `from_failed`: Alipay's notify proves a refund we had marked failed."""
    sources = ("requested", "failed") if from_failed else ("requested",)
    # Lock order: the payment row first, then its refunds, as a new refund takes them; settling
    # the refund first deadlocked against a refund being requested or retried at the same time.
    await session.execute(
        sa.select(payments.c.id).where(payments.c.id == refund["payment_id"]).with_for_update()
    )
    settled = await session.execute(
        sa.update(refunds)
        .where(refunds.c.id == refund["id"], refunds.c.status.in_(sources))
        .values(status="succeeded", refunded_at=utcnow(), last_error=None)
    )
    if updated_rows(settled) != 1:
        return False
    await session.execute(
        sa.update(payments)
        .where(payments.c.id == refund["payment_id"])
        .values(refunded_amount=payments.c.refunded_amount + refund["amount"])
    )
    payment = await payment_by_id(session, refund["payment_id"])
    if payment["refunded_amount"] >= payment["amount"]:
        await move(session, payment["id"], states.REFUNDED)
    await enqueue_refund_event(session, payment, await refund_of(session, refund["out_request_no"]))
    return True


async def fail_refund(session: AsyncSession, refund, reason: str) -> None:
    """Alipay refused the refund for good: `failed`, with its reason, for a person to act on."""
    failed = await session.execute(
        sa.update(refunds)
        .where(refunds.c.id == refund["id"], refunds.c.status == "requested")
        .values(status="failed", last_error=reason[:1000])
    )
    if updated_rows(failed) == 1:
        payment = await payment_by_id(session, refund["payment_id"])
        await enqueue_refund_event(
            session, payment, await refund_of(session, refund["out_request_no"])
        )


async def note_refund_error(session: AsyncSession, refund, error: str) -> None:
    """A refund still to be retried keeps why the last attempt did not settle it (visible)."""
    await session.execute(
        sa.update(refunds)
        .where(refunds.c.id == refund["id"], refunds.c.status == "requested")
        .values(last_error=error[:1000])
    )


REFUND_STATUS: dict[str, RefundStatus] = {
    "requested": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
}


def refund_event(payment, refund) -> RefundEvent:
    return RefundEvent(
        event_id=str(uuid.uuid4()),
        order_id=payment["order_id"],
        refund_id=refund["out_request_no"],
        amount=refund["amount"],
        reason=refund["reason"],
        status=REFUND_STATUS[refund["status"]],
        error=(refund["last_error"] or "")[:1000] or None,
        created_at=refund["created_at"],
        refunded_amount=payment["refunded_amount"],
    )


async def enqueue_refund_event(session: AsyncSession, payment, refund) -> None:
    """Tell the order service (the automatic refund of a late payment is not the order's)."""
    if refund["origin"] == "late_payment":
        return
    event = refund_event(payment, refund)
    await enqueue(session, REFUND_TOPIC, event.model_dump(mode="json"), event.event_id)


async def refunds_of(session: AsyncSession, payment_id: int) -> list:
    query = sa.select(refunds).where(refunds.c.payment_id == payment_id).order_by(refunds.c.id)
    return list((await session.execute(query)).mappings().all())


async def add_refund(
    session: AsyncSession,
    payment,
    amount: Decimal,
    reason: str,
    origin: str,
    out_request_no: str | None = None,
    request_key: str | None = None,
):
    """A new `requested` refund; without a number, the payment's next `<out_trade_no>R<n>`.
    The caller holds the payment's row lock, so two refunds never take the same number."""
    if out_request_no is None:
        taken = {row["out_request_no"] for row in await refunds_of(session, payment["id"])}
        n = len(taken) + 1
        while states.refund_request_no(payment["out_trade_no"], n) in taken:
            n += 1
        out_request_no = states.refund_request_no(payment["out_trade_no"], n)
    await session.execute(
        sa.insert(refunds).values(
            payment_id=payment["id"],
            out_request_no=out_request_no,
            amount=amount,
            reason=reason[:256],
            status="requested",
            created_at=utcnow(),
            origin=origin,
            request_key=request_key,
        )
    )
    refund = await refund_of(session, out_request_no)
    if origin == "merchant":  # the relay makes it at Alipay should the first attempt not settle it
        await enqueue(
            session,
            REFUND_REQUEST_TOPIC,
            {"order_id": payment["order_id"], "out_request_no": out_request_no},
            delay=REFUND_RETRY_DELAY,
        )
    return refund


REFUND_RETRY_DELAY = timedelta(seconds=5)


async def refund_by_key(session: AsyncSession, payment_id: int, request_key: str):
    query = sa.select(refunds).where(
        refunds.c.payment_id == payment_id, refunds.c.request_key == request_key
    )
    return (await session.execute(query)).mappings().first()


async def committed_refunds(session: AsyncSession, payment_id: int) -> Decimal:
    """Refunded or still being asked for (every refund that has not failed)."""
    total = await session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(refunds.c.amount), 0)).where(
            refunds.c.payment_id == payment_id, refunds.c.status != "failed"
        )
    )
    return Decimal(total.scalar_one())  # an aggregate: always one row


async def reopen_refund(session: AsyncSession, payment_id: int) -> bool:
    """A failed refund back to `requested`, so it is asked for again; False if none failed."""
    result = await session.execute(
        sa.update(refunds)
        .where(refunds.c.payment_id == payment_id, refunds.c.status == "failed")
        .values(status="requested", last_error=None)
    )
    return updated_rows(result) == 1
