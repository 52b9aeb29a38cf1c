"""Routes the payment service calls; every one needs a request signed with SERVICE_AUTH_SECRET."""

from typing import Annotated

from fastapi import Path

from order_service.api.deps import SessionsDep
from order_service.api.schemas import (
    PaymentEventOut,
    PaymentEventsIn,
    PaymentEventsOut,
    RefundEventOut,
)
from order_service.services import lifecycle, refunds
from shared.errors import Problem
from shared.events import PaidEvent, RefundEvent
from shared.service_auth import internal_router

router = internal_router(lambda request: request.app.state.settings.service_auth_secret)


EventOrderId = Annotated[str, Path(min_length=1, max_length=64)]


def _of_order(order_id: str, event: PaidEvent | RefundEvent) -> None:
    if event.order_id != order_id:
        raise Problem(422, "order_id_mismatch", "The event's order_id differs from the path.")


@router.post("/orders/{order_id}/payment-events", response_model=PaymentEventOut)
async def payment_event(order_id: EventOrderId, body: PaidEvent, sessions: SessionsDep):
    _of_order(order_id, body)
    return {"result": await lifecycle.apply_payment_event(sessions, body)}


@router.post("/payment-events", response_model=PaymentEventsOut)
async def payment_events(body: PaymentEventsIn, sessions: SessionsDep):
    """Several orders' "paid" events (the relay's batch), each with its own outcome."""
    outcomes = await lifecycle.apply_payment_events(sessions, body.events)
    return {
        "results": [
            {
                "event_id": outcome.event.event_id,
                "order_id": outcome.event.order_id,
                "result": outcome.result,
                "code": outcome.refusal.code if outcome.refusal else None,
                "detail": outcome.refusal.detail if outcome.refusal else None,
            }
            for outcome in outcomes
        ]
    }


@router.post("/orders/{order_id}/refund-events", response_model=RefundEventOut)
async def refund_event(order_id: EventOrderId, body: RefundEvent, sessions: SessionsDep):
    _of_order(order_id, body)
    return {"result": await refunds.apply_refund_event(sessions, body)}
