"""The order's copy of its refunds, and its refunded total, as the payment service reports them."""

from decimal import Decimal

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from order_service.storage.tables import order_refunds, orders
from shared.db import insert_with_on_conflict
from shared.time import now_utc


async def upsert_refund(session: AsyncSession, order_id: str, refund: dict) -> None:
    """Insert or update one refund (refund_id is the payment service's out_request_no). A
    settled refund never goes back to pending (events may arrive after the route's answer)."""
    now = now_utc()
    values = {
        "refund_id": refund["refund_id"],
        "order_id": order_id,
        "amount": refund["amount"],
        "reason": refund["reason"][:256],
        "status": refund["status"],
        "error": (refund.get("error") or "")[:1000] or None,
        "created_at": refund["created_at"],
        "updated_at": now,
    }
    statement = insert_with_on_conflict(session, order_refunds).values(values)
    keep_settled = order_refunds.c.status == "pending"
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[order_refunds.c.refund_id],
            set_={
                "status": case(
                    (keep_settled, statement.excluded.status), else_=order_refunds.c.status
                ),
                "error": case(
                    (keep_settled, statement.excluded.error), else_=order_refunds.c.error
                ),
                "updated_at": now,
            },
        )
    )


async def raise_refunded_amount(session: AsyncSession, order_id: str, refunded: Decimal) -> None:
    """The order's refunded total becomes `refunded` unless it already is more (out of order)."""
    await session.execute(
        update(orders)
        .where(orders.c.order_id == order_id, orders.c.refunded_amount < refunded)
        .values(refunded_amount=refunded)
    )


async def refunded_amount(session: AsyncSession, order_id: str) -> Decimal:
    result = await session.execute(
        select(orders.c.refunded_amount).where(orders.c.order_id == order_id)
    )
    return result.scalar_one()
