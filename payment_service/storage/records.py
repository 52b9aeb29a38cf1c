"""Reads and guarded writes of payment rows; each takes the caller's session (its transaction)."""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.domain import payments as states
from payment_service.domain.payments import Payment, PaymentStatus, Refund, RefundStatus
from payment_service.storage.tables import notifies, outbox, payments, refunds
from shared.db import claim_and_lease
from shared.money import format_money
from shared.time import now_utc

PAID_TOPIC = "payment.paid"


def _payment(row) -> Payment:
    return Payment(**{**row._mapping, "status": PaymentStatus(row.status)})


def _refund(row) -> Refund:
    return Refund(**{**row._mapping, "status": RefundStatus(row.status)})


async def _one_payment(session: AsyncSession, query) -> Payment | None:
    row = (await session.execute(query)).first()
    return None if row is None else _payment(row)


async def payment_by_order(session: AsyncSession, order_id: str) -> Payment | None:
    return await _one_payment(session, sa.select(payments).where(payments.c.order_id == order_id))


async def payment_by_out_trade_no(session: AsyncSession, out_trade_no: str) -> Payment | None:
    query = sa.select(payments).where(payments.c.out_trade_no == out_trade_no)
    return await _one_payment(session, query)


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
                    payments.c.status == states.CREATED,
                    payments.c.created_at <= now - after,
                    sa.or_(payments.c.next_check_at.is_(None), payments.c.next_check_at <= now),
                ),
                sa.and_(payments.c.status == states.CLOSED, payments.c.next_check_at <= now),
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
    return [_payment(row) for row in rows]


async def stop_watching(session: AsyncSession, payment_id: int) -> None:
    """A closed payment whose link has expired needs no more checks."""
    await session.execute(
        sa.update(payments)
        .where(payments.c.id == payment_id, payments.c.status == states.CLOSED)
        .values(next_check_at=None)
    )


async def insert_payment_once(session: AsyncSession, **values) -> None:
    """The order's payment row, unless it has one already (then nothing changes)."""
    try:
        async with session.begin_nested():
            await session.execute(sa.insert(payments).values(**values))
    except IntegrityError:
        pass  # already there: the caller reads it back and compares


async def set_channel(session: AsyncSession, payment_id: int, channel: str) -> None:
    await session.execute(
        sa.update(payments).where(payments.c.id == payment_id).values(channel=channel)
    )


async def notifies_of(session: AsyncSession, out_trade_no: str) -> list:
    query = sa.select(notifies).where(notifies.c.out_trade_no == out_trade_no)
    return (await session.execute(query.order_by(notifies.c.id))).mappings().all()


async def refunds_of(session: AsyncSession, payment_id: int) -> list[Refund]:
    query = sa.select(refunds).where(refunds.c.payment_id == payment_id)
    return [_refund(row) for row in await session.execute(query.order_by(refunds.c.id))]


async def move(session: AsyncSession, payment_id: int, target: str, **values) -> bool:
    """Guarded transition: applies only from an allowed source status; False if it did not."""
    result = await session.execute(
        sa.update(payments)
        .where(payments.c.id == payment_id, payments.c.status.in_(states.sources_of(target)))
        .values(status=target, **values)
    )
    return result.rowcount == 1


async def mark_paid(
    session: AsyncSession, payment: Payment, trade_no: str, paid_at: datetime | None
) -> bool:
    """Paid once, with its "paid" outbox event in the same transaction. False if already paid."""
    paid_at = paid_at or now_utc()
    if not await move(session, payment.id, states.PAID, trade_no=trade_no, paid_at=paid_at):
        return False
    await enqueue_paid_event(session, payment, trade_no, paid_at)
    return True


async def enqueue_paid_event(
    session: AsyncSession, payment: Payment, trade_no: str, paid_at: datetime
) -> None:
    """The "paid" event the relay delivers to the order service."""
    event_id = str(uuid.uuid4())
    payload = {
        "event_id": event_id,
        "type": "paid",
        "order_id": payment.order_id,
        "amount": format_money(payment.amount),
        "trade_no": trade_no,
        "paid_at": paid_at.isoformat(),
    }
    now = now_utc()
    await session.execute(
        sa.insert(outbox).values(
            id=event_id, topic=PAID_TOPIC, payload=payload, created_at=now, next_attempt_at=now
        )
    )


async def record_notify(
    session: AsyncSession, body: bytes, verified: bool, outcome: str, params: dict | None
) -> None:
    params = params or {}
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
        )
    )


def _clipped(params: dict, name: str, size: int) -> str | None:
    """A field for an indexed column; the full text stays in raw_body."""
    return params.get(name, "")[:size] or None


async def refund_of(session: AsyncSession, out_request_no: str) -> Refund | None:
    query = sa.select(refunds).where(refunds.c.out_request_no == out_request_no)
    row = (await session.execute(query)).first()
    return None if row is None else _refund(row)


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
    now = now_utc()
    await session.execute(
        sa.update(refunds)
        .where(refunds.c.id == refund.id, refunds.c.status == RefundStatus.REQUESTED)
        .values(status=RefundStatus.SUCCEEDED, refunded_at=now)
    )
    await move(session, payment.id, states.REFUNDED, refunded_amount=refund.amount)


async def fail_refund(session: AsyncSession, refund: Refund, reason: str) -> None:
    """Alipay refused the refund for good: `failed`, with its reason, for a person to act on."""
    await session.execute(
        sa.update(refunds)
        .where(refunds.c.id == refund.id, refunds.c.status == RefundStatus.REQUESTED)
        .values(status=RefundStatus.FAILED, last_error=reason[:1000])
    )


async def reopen_refund(session: AsyncSession, payment_id: int) -> bool:
    """A failed refund back to `requested`, so it is asked for again; False if none failed."""
    result = await session.execute(
        sa.update(refunds)
        .where(refunds.c.payment_id == payment_id, refunds.c.status == RefundStatus.FAILED)
        .values(status=RefundStatus.REQUESTED, last_error=None)
    )
    return result.rowcount == 1
