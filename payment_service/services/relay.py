"""The outbox relay: delivers "paid" and "refund" events to the order service until it
acknowledges them, and makes the merchant's refunds at Alipay until they settle
(`refund.request` rows).

Rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) and leased by pushing their
next_attempt_at forward before the HTTP call, so any number of replicas can run the relay and a
crash mid-delivery only delays the event. The order service applies an event once, so a
redelivery is harmless.
"""

import asyncio
from collections import defaultdict
from datetime import timedelta

import httpx
import structlog

from payment_service import metrics
from payment_service.alipay import AlipayError
from payment_service.services.refunds import RefundRefused, process_refund, refund_late_payment
from payment_service.services.runtime import Runtime
from payment_service.storage import outbox
from payment_service.storage.outbox import OutboxEvent
from shared.events import MAX_EVENTS_PER_BATCH, PAID_TOPIC, REFUND_REQUEST_TOPIC
from shared.time import now_utc
from shared.tracing import continued_from, linked_span, span_context_from

log = structlog.get_logger(__name__)

BATCH = MAX_EVENTS_PER_BATCH  # one POST /internal/payment-events takes them all
LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 300


Outcome = tuple[str, str | None]  # a delivery's result and, when it failed, why


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


async def claim_due(rt: Runtime) -> list[OutboxEvent]:
    async with rt.sessions.begin() as session:
        return await outbox.claim_due(session, now_utc(), BATCH, LEASE)


async def relay_once(rt: Runtime) -> int:
    """Deliver what is due, batch after batch while they come full (so that the relay keeps up
    with more than BATCH payments per interval); the number of events acknowledged."""
    delivered = 0
    while True:
        rows = await claim_due(rt)
        delivered += await _deliver_all(rt, rows)
        if len(rows) < BATCH:
            break
    await _count_pending(rt)
    return delivered


async def _deliver_all(rt: Runtime, rows: list[OutboxEvent]) -> int:
    """The batch's "paid" events in one request to the order service; then each order's other
    events one after another in their order, the orders side by side (each is a round trip to
    the order service or to Alipay: mostly waiting); then the outcomes in one transaction."""
    paid = [row for row in rows if row.topic == PAID_TOPIC]
    outcomes = await _deliver_paid(rt, paid) if paid else {}
    by_order: dict[str, list[OutboxEvent]] = defaultdict(list)
    for row in rows:
        if row.topic != PAID_TOPIC:
            by_order[row.payload["order_id"]].append(row)

    async def deliver_in_order(events: list[OutboxEvent]) -> None:
        for row in events:
            # The delivery continues the trace of the request that wrote the event.
            with continued_from(row.trace_context, "outbox deliver", **{"outbox.event_id": row.id}):
                outcomes[row.id] = await _deliver(rt, row)

    await asyncio.gather(*(deliver_in_order(events) for events in by_order.values()))
    async with rt.sessions.begin() as session:
        now = now_utc()
        settled = []
        for row in rows:
            result, error = outcomes[row.id]
            metrics.RELAY_DELIVERIES.labels(result=result).inc()
            if result == "failed":
                retry_at = now + backoff(row.attempts + 1)
                await outbox.retry_later(session, row.id, retry_at, error)
            else:
                settled.append((row.id, error))
        await outbox.mark_delivered(session, settled, now)
    return len(settled)


async def _count_pending(rt: Runtime) -> None:
    """The backlog gauges: how many events wait, and how long the oldest has waited."""
    async with rt.sessions() as session:
        pending, oldest = await outbox.backlog(session)
    metrics.OUTBOX_PENDING.set(pending)
    age = (now_utc() - oldest).total_seconds() if oldest is not None else 0.0
    metrics.OUTBOX_OLDEST_AGE.set(max(age, 0.0))
    metrics.RELAY_LAST_ROUND.set_to_current_time()


async def _deliver(rt: Runtime, row: OutboxEvent) -> tuple[str, str | None]:
    if row.topic == REFUND_REQUEST_TOPIC:
        return await _make_refund(rt, row.payload["out_request_no"])
    return await _post_event(rt, row, "refund-events")


async def _make_refund(rt: Runtime, out_request_no: str) -> tuple[str, str | None]:
    """A merchant refund not settled yet: ask Alipay again (same out_request_no)."""
    try:
        result = await process_refund(rt, out_request_no)
    except AlipayError as exc:
        log.warning("refund_retry_failed", out_request_no=out_request_no, error=str(exc))
        return "failed", f"refund not settled: {exc}"
    return ("refund" if result == "succeeded" else "refund_refused"), None


async def _post_event(rt: Runtime, row: OutboxEvent, route: str) -> tuple[str, str | None]:
    order_id = row.payload["order_id"]
    try:
        response = await rt.order_service.post(
            f"/internal/orders/{order_id}/{route}", json=row.payload
        )
    except httpx.HTTPError as exc:
        return "failed", f"order service unreachable: {exc!r}"
    if response.status_code == 200:
        return "delivered", None
    log.warning("relay_refused", order_id=order_id, status=response.status_code)
    return "failed", f"order service answered {response.status_code}: {response.text[:300]}"


async def _deliver_paid(rt: Runtime, rows: list[OutboxEvent]) -> dict[str, Outcome]:
    """Each event's (result, error), from one POST /internal/payment-events for all of them, in
    a span linked to the request that wrote each event (a notify)."""
    links = [span_context_from(row.trace_context) for row in rows]
    with linked_span("outbox deliver", links, **{"outbox.events": len(rows)}):
        answers, error = await _post_paid_events(rt, rows)
        replies: list[dict | None] = list(answers) if answers is not None else [None] * len(rows)
        return {
            row.id: await _paid_outcome(rt, row, reply, error)
            for row, reply in zip(rows, replies, strict=True)
        }


async def _post_paid_events(
    rt: Runtime, rows: list[OutboxEvent]
) -> tuple[list[dict] | None, str | None]:
    """The order service's answer for each event, in their order; or None and why not."""
    try:
        response = await rt.order_service.post(
            "/internal/payment-events", json={"events": [row.payload for row in rows]}
        )
    except httpx.HTTPError as exc:
        log.warning("relay_unreachable", events=len(rows), error=repr(exc))
        return None, f"order service unreachable: {exc!r}"
    if response.status_code != 200:
        log.warning("relay_refused", status=response.status_code, body=response.text[:300])
        return None, f"order service answered {response.status_code}: {response.text[:300]}"
    return response.json()["results"], None


async def _paid_outcome(rt: Runtime, row: OutboxEvent, answer: dict | None, error: str | None):
    """Result `delivered` (the order service acknowledged the event), `refund` (its order was
    cancelled and the payment refunded), `refund_refused` (Alipay refused the refund for good:
    settled with the reason, not retried) or `failed` (retried)."""
    order_id = row.payload["order_id"]
    if answer is None:
        return "failed", error
    if answer["result"] != "refused":
        log.info("relay_delivered", order_id=order_id, event_id=row.id)
        return "delivered", None
    if answer["code"] == "order_canceled":
        try:
            await refund_late_payment(rt, order_id)
        except RefundRefused as exc:
            return "refund_refused", f"refund refused by Alipay: {exc}"
        except AlipayError as exc:
            log.warning("refund_failed", order_id=order_id, error=str(exc))
            return "failed", f"refund failed: {exc}"
        return "refund", None
    log.warning("relay_refused", order_id=order_id, code=answer["code"], detail=answer["detail"])
    return "failed", f"order service refused it: {answer['code']}: {answer['detail']}"
