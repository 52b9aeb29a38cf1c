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
