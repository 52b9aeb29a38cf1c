"""The daily bill's mismatches (table bill_mismatches) and the payments a day's bill covers."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.domain.payments import Payment, PaymentStatus, Refund, RefundStatus
from payment_service.storage.records import payment_record, refund_record
from payment_service.storage.tables import bill_mismatches, payments, refunds
from shared.time import now_utc


async def payments_for(session: AsyncSession, out_trade_nos: list[str]) -> dict[str, Payment]:
    found = {}
    for start in range(0, len(out_trade_nos), 500):
        chunk = out_trade_nos[start : start + 500]
        rows = await session.execute(sa.select(payments).where(payments.c.out_trade_no.in_(chunk)))
        found.update({row.out_trade_no: payment_record(row) for row in rows})
    return found


async def paid_between(session: AsyncSession, start: datetime, end: datetime) -> list[Payment]:
    """Payments recorded as paid (refunded ones included) whose payment falls in [start, end)."""
    rows = await session.execute(
        sa.select(payments).where(
            payments.c.paid_at >= start,
            payments.c.paid_at < end,
            payments.c.status.in_((PaymentStatus.PAID, PaymentStatus.REFUNDED)),
        )
    )
    return [payment_record(row) for row in rows]


async def refunds_of(session: AsyncSession, payment_ids: list[int]) -> dict[str, Refund]:
    """Succeeded refunds by out_request_no."""
    if not payment_ids:
        return {}
    rows = await session.execute(
        sa.select(refunds).where(
            refunds.c.payment_id.in_(payment_ids), refunds.c.status == RefundStatus.SUCCEEDED
        )
    )
    return {row.out_request_no: refund_record(row) for row in rows}


async def replace_mismatches(session: AsyncSession, day: date, found: list[dict]) -> None:
    """A day's reconciliation replaces that day's earlier findings (running it again is safe)."""
    await session.execute(sa.delete(bill_mismatches).where(bill_mismatches.c.bill_date == day))
    if found:
        now = now_utc()
        await session.execute(
            sa.insert(bill_mismatches),
            [
                {
                    "bill_date": day,
                    "kind": item["kind"],
                    "out_trade_no": item["out_trade_no"],
                    "out_request_no": item.get("out_request_no"),
                    "bill_amount": item.get("bill_amount"),
                    "recorded_amount": item.get("recorded_amount"),
                    "detail": item["detail"],
                    "found_at": now,
                }
                for item in found
            ],
        )
