"""GET /metrics on a running payment service: the counters move as notifies come in."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.payment_service.conftest import (
    alipay_signed,
    create_payment,
    form,
    new_order_id,
    notify_params,
)
from tests.support.stack import eventually


async def scrape(service) -> dict[tuple[str, tuple], float]:
    async with httpx.AsyncClient(base_url=service.url, follow_redirects=True) as client:
        response = await client.get("/metrics")  # the mount redirects to /metrics/
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def notify(service, params: dict) -> str:
    async with httpx.AsyncClient(base_url=service.url) as client:
        return (await client.post("/alipay/notify", content=form(params))).text


async def test_metrics_count_a_paid_a_repeated_and_a_forged_notify(payment_service):
    order_id = new_order_id()
    await create_payment(payment_service, order_id)
    before = await scrape(payment_service)

    genuine = alipay_signed(notify_params(order_id))
    assert await notify(payment_service, genuine) == "success"
    assert await notify(payment_service, genuine) == "success"  # Alipay repeats itself
    forged = dict(genuine, total_amount="0.01")  # signature no longer holds
    assert await notify(payment_service, forged) == "fail"

    after = await scrape(payment_service)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("payment_notifies_total", outcome="paid") == 1
    assert moved("payment_notifies_total", outcome="duplicate") == 1
    assert moved("payment_notifies_total", outcome="bad_signature") == 1
    assert moved("payment_paid_total", source="notify") == 1
    assert moved("payment_paid_total", source="query") == 0


async def test_backlog_age_route_metrics_and_pool_on_a_running_service(payment_service):
    """The order service of this fixture is down: a paid event stays pending and ages."""
    order_id = new_order_id()
    await create_payment(payment_service, order_id)
    assert await notify(payment_service, alipay_signed(notify_params(order_id))) == "success"

    def aged(at_least: float):
        async def check():
            samples = await scrape(payment_service)
            age = value(samples, "payment_outbox_oldest_pending_age_seconds")
            return samples if age >= at_least else None

        return check

    first = await eventually(aged(0.001), 30, "a pending event counted by the relay", 0.2)
    first_age = value(first, "payment_outbox_oldest_pending_age_seconds")
    later = await eventually(aged(first_age + 1.0), 30, "the oldest pending event to age", 0.2)
    assert value(later, "payment_outbox_pending") >= 1
    assert value(later, "payment_relay_last_round_timestamp_seconds") > value(
        first, "payment_relay_last_round_timestamp_seconds"
    )
    # per-route request metrics by template, beside the business counters
    assert value(later, "http_requests_total", method="POST", route="/alipay/notify", status="200")
    assert value(
        later, "http_request_duration_seconds_count", method="POST", route="/internal/payments"
    )
    assert not any(
        name == "http_requests_total" and order_id in dict(labels).get("route", "")
        for name, labels in later
    )
    # the service's own database pool
    assert ("db_pool_size", (("pool", "payment"),)) in later
    assert ("db_pool_connections_waiting", (("pool", "payment"),)) in later
