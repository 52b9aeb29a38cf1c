"""The outbox: events written in the transaction of their change, claimed by the relay."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.storage.tables import outbox
from shared.db import claim_and_lease


@dataclass(frozen=True)
class OutboxEvent:
    """A row of `outbox`: an event to deliver (`paid`, `refund`) or a merchant refund to make at
    Alipay (`refund.request`), with its delivery state."""

    id: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    trace_context: str | None  # the W3C traceparent of the request that wrote it


def outbox_event(row: Row) -> OutboxEvent:
    return OutboxEvent(**row._mapping)


async def claim_due(
    session: AsyncSession, now: datetime, batch: int, lease: timedelta
) -> list[OutboxEvent]:
    """Undelivered events due by `now`, oldest due first, each leased (attempts + 1, next
    attempt after `lease`) so that no other replica takes it meanwhile."""
    query = (
        sa.select(outbox)
        .where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.next_attempt_at)
        .limit(batch)
    )
    lease_values = {"attempts": outbox.c.attempts + 1, "next_attempt_at": now + lease}
    rows = await claim_and_lease(session, query, outbox.c.id, lease_values)
    return [outbox_event(row) for row in rows]


async def mark_delivered(
    session: AsyncSession, events: list[tuple[str, str | None]], at: datetime
) -> None:
    """Settle events (id, note), all at `at`, in one batched statement."""
    if events:
        await session.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("_id"))
            .values(delivered_at=at, last_error=sa.bindparam("_note")),
            [{"_id": event_id, "_note": note} for event_id, note in events],
        )


async def retry_later(
    session: AsyncSession, event_id: str, at: datetime, error: str | None
) -> None:
    await session.execute(
        sa.update(outbox)
        .where(outbox.c.id == event_id)
        .values(next_attempt_at=at, last_error=(error or "")[:1000])
    )


async def backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many events wait for delivery, and when the oldest of them was written."""
    query = sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
        outbox.c.delivered_at.is_(None)
    )
    pending, oldest = (await session.execute(query)).one()
    return pending, oldest
