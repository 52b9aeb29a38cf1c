"""The outbox relay: delivers "paid" events to the order service until it acknowledges them.

Rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) and leased by pushing their
next_attempt_at forward before the HTTP call, so any number of replicas can run the relay and a
crash mid-delivery only delays the event. The order service applies an event once, so a
redelivery is harmless.
"""

from datetime import timedelta

import httpx
import structlog

from payment_service import metrics
from payment_service.alipay import AlipayError
from payment_service.services.refunds import RefundRefused, refund_late_payment
from payment_service.services.runtime import Runtime
from payment_service.storage import outbox
from shared.http import problem_code
from shared.time import now_utc

log = structlog.get_logger(__name__)

BATCH = 20
LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 300


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


async def claim_due(rt: Runtime) -> list:
    async with rt.sessions.begin() as session:
        return await outbox.claim_due(session, now_utc(), BATCH, LEASE)


async def relay_once(rt: Runtime) -> int:
    """Deliver what is due; the number of events acknowledged."""
    delivered = 0
    for row in await claim_due(rt):
        result, error = await _deliver(rt, row)
        metrics.RELAY_DELIVERIES.labels(result=result).inc()
        async with rt.sessions.begin() as session:
            if result == "failed":
                retry_at = now_utc() + backoff(row["attempts"] + 1)
                await outbox.retry_later(session, row["id"], retry_at, error)
            else:
                await outbox.mark_delivered(session, row["id"], now_utc(), error)
        delivered += result != "failed"
    async with rt.sessions() as session:
        metrics.OUTBOX_PENDING.set(await outbox.count_pending(session))
    return delivered


async def _deliver(rt: Runtime, row) -> tuple[str, str | None]:
    """(result, error). Result `delivered` (the order service acknowledged the event),
    `refund` (its order was cancelled and the payment refunded), `refund_refused` (Alipay
    refused the refund for good: settled with the reason, not retried) or `failed` (retried)."""
    payload = row["payload"]
    order_id = payload["order_id"]
    try:
        response = await rt.order_service.post(
            f"/internal/orders/{order_id}/payment-events", json=payload
        )
    except httpx.HTTPError as exc:
        log.warning("relay_unreachable", order_id=order_id, error=repr(exc))
        return "failed", f"order service unreachable: {exc!r}"
    if response.status_code == 200:
        log.info("relay_delivered", order_id=order_id, event_id=row["id"])
        return "delivered", None
    if response.status_code == 409 and problem_code(response) == "order_canceled":
        try:
            await refund_late_payment(rt, order_id)
        except RefundRefused as exc:
            return "refund_refused", f"refund refused by Alipay: {exc}"
        except AlipayError as exc:
            log.warning("refund_failed", order_id=order_id, error=str(exc))
            return "failed", f"refund failed: {exc}"
        return "refund", None
    log.warning(
        "relay_refused", order_id=order_id, status=response.status_code, body=response.text[:300]
    )
    return "failed", f"order service answered {response.status_code}: {response.text[:300]}"
