"""Traces across the services, for real: the three services run as processes exporting OTLP/HTTP
(the standard OTel variables only) to a receiver this test runs, which decodes the protobuf.

Asserted: the parent links of a buyer's link request (order → payment), of a cancel that reaches
Alipay's gateway (order → payment → emulator), and of a payment (notify, linked from the outbox
delivery batch → the order's payment-events route → the UPDATE that makes the order paid); and
the log lines of a traced request carry its trace id.
"""

import json

import pytest

from tests.e2e.conftest import start_stack
from tests.support.otlp import CLIENT, CONSUMER, SERVER, OtlpReceiver, Span
from tests.support.stack import StackOptions, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receiver():
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
async def traced(pg_databases, tmp_path_factory, receiver):
    options = StackOptions(
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within 0.1 s, not 5 s
            "LOG_JSON": "true",
        }
    )
    stack = await start_stack(pg_databases, tmp_path_factory, options)
    yield stack
    await stack.close()


def route(span: Span) -> str | None:
    return span.attr("http.route")


def statement(span: Span) -> str:
    return span.attr("db.statement", "db.query.text") or ""


async def server_span(receiver, service: str, route_template: str, order_id: str) -> Span:
    """The server span of `service` for `route_template` whose target names `order_id`."""

    async def found():
        for span in receiver.spans():
            target = span.attr("http.target", "url.path") or ""
            if (
                span.service == service
                and span.kind == SERVER
                and route(span) == route_template
                and order_id in target
            ):
                return span
        return None

    return await eventually(found, 15, f"a {service} server span for {route_template}")


def is_http(span: Span) -> bool:
    """An HTTP span (database and Redis spans are of kind CLIENT too)."""
    return span.attr("http.method", "http.request.method") is not None


def children(receiver, parent: Span, http: bool = False, **where) -> list[Span]:
    return [
        span
        for span in receiver.spans()
        if span.parent_span_id == parent.span_id
        and span.trace_id == parent.trace_id
        and (is_http(span) or not http)
        and all(getattr(span, key) == value for key, value in where.items())
    ]


async def only_child(receiver, parent: Span, what: str, **where) -> Span:
    """The one HTTP (or consumer) span under `parent` that matches `where`."""

    async def found():
        spans = children(receiver, parent, http=where.get("kind") != CONSUMER, **where)
        return spans[0] if len(spans) == 1 else None

    return await eventually(found, 15, f"{what} as the child of {parent.name}")


async def test_a_link_request_is_one_trace_across_order_and_payment(traced, receiver):
    buyer = await traced.new_buyer()
    sku = await traced.sku_by_name("e2e item 1")
    order = await traced.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])
    order_id = order["order_id"]
    assert (await traced.request_link(buyer, order_id)).status_code == 200

    link = await server_span(receiver, "order-service", "/api/orders/{order_id}/payment", order_id)
    call = await only_child(receiver, link, "the call to the payment service", kind=CLIENT)
    assert call.service == "order-service"
    created = await only_child(receiver, call, "the payment service's span", kind=SERVER)
    assert created.service == "payment-service"
    assert route(created) == "/internal/payments"
    # the payment row is written inside that request's trace

    async def insert():
        return [s for s in children(receiver, created) if "INSERT INTO payments" in statement(s)]

    await eventually(insert, 15, f"the INSERT under {created}; {children(receiver, created)}")


async def test_an_order_is_placed_in_a_batch_span_linked_to_its_request(traced, receiver):
    buyer = await traced.new_buyer()
    sku = await traced.sku_by_name("e2e item 5")
    await traced.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])

    async def request_and_batch():
        for span in receiver.spans():
            if (
                span.service == "order-service"
                and span.kind == SERVER
                and route(span) == ("/api/orders")
            ):
                for batch in receiver.spans():
                    if batch.name == "checkout batch" and (span.trace_id, span.span_id) in (
                        batch.links
                    ):
                        return span, batch
        return None

    request, batch = await eventually(request_and_batch, 15, "a checkout batch linked to it")
    assert batch.service == "order-service"
    assert batch.parent_span_id == ""  # its own root, not the trace of whoever started the queue

    async def inserted():
        return [s for s in children(receiver, batch) if "INSERT INTO orders" in statement(s)]

    await eventually(inserted, 15, "the order's INSERT in the batch span")


async def test_a_cancel_traces_through_the_payment_service_to_the_gateway(traced, receiver):
    buyer = await traced.new_buyer()
    sku = await traced.sku_by_name("e2e item 3")
    order = await traced.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])
    order_id = order["order_id"]
    pay_url = await traced.pay_url(buyer, order_id)
    await traced.open_cashier(pay_url)
    assert (await traced.cancel_order(buyer, order_id)).status_code == 200

    cancel = await server_span(receiver, "order-service", "/api/orders/{order_id}/cancel", order_id)
    call = await only_child(receiver, cancel, "the close call", kind=CLIENT)
    close = await only_child(receiver, call, "the payment service's close", kind=SERVER)
    assert (close.service, route(close)) == (
        "payment-service",
        "/internal/payments/{order_id}/close",
    )

    async def gateway_calls():
        calls = children(receiver, close, http=True, kind=CLIENT)
        served = [s for c in calls for s in children(receiver, c, kind=SERVER)]
        return served or None

    # alipay.trade.close (then alipay.trade.query when the close is refused): each a client span of
    # the payment service whose child is the emulator's server span of /gateway.do
    served = await eventually(gateway_calls, 15, "the gateway calls under the close")
    assert {(s.service, route(s)) for s in served} == {("alipay-sandbox", "/gateway.do")}


async def test_the_relay_and_the_order_paid_continue_the_trace_of_the_notify(traced, receiver):
    buyer = await traced.new_buyer()
    sku = await traced.sku_by_name("e2e item 2")
    order = await traced.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])
    order_id = order["order_id"]
    pay_url = await traced.pay_url(buyer, order_id)
    await traced.buyer_pays(pay_url, order_id)
    await traced.wait_order_status(buyer, order_id, "unsent")

    async def notify_span():
        for span in receiver.spans():
            if span.service == "payment-service" and route(span) == "/alipay/notify":
                rows = await traced.payment_sql(
                    "SELECT trace_context FROM outbox WHERE payload->>'order_id' = $1", order_id
                )
                if rows and rows[0]["trace_context"] and span.span_id in rows[0]["trace_context"]:
                    return span
        return None

    # the outbox row keeps the notify's traceparent: 00-<trace id>-<span id>-01
    notify = await eventually(notify_span, 15, "the notify that wrote the outbox event")

    # The relay delivers "paid" events in batches: one span per batch, linked to each notify.
    async def delivery():
        for span in receiver.spans():
            if span.name == "outbox deliver" and (notify.trace_id, notify.span_id) in span.links:
                return span
        return None

    deliver = await eventually(delivery, 15, "the relay's delivery linked to the notify")
    assert deliver.service == "payment-service"
    call = await only_child(receiver, deliver, "the delivery's call", kind=CLIENT)
    applied = await only_child(receiver, call, "the order service's span", kind=SERVER)
    assert (applied.service, route(applied)) == ("order-service", "/internal/payment-events")

    async def status_change():
        return [s for s in children(receiver, applied) if "UPDATE orders" in statement(s)]

    await eventually(status_change, 15, "the UPDATE of the order under the payment event")

    # The relay's log line carries the delivery's trace and span ids.
    def relay_lines():
        lines = traced.payment.log_path.read_text(errors="replace").splitlines()
        events = [json.loads(line) for line in lines if line.startswith("{")]
        return [e for e in events if e.get("event") == "relay_delivered"]

    async def logged():
        return [e for e in relay_lines() if e.get("order_id") == order_id]

    (line,) = await eventually(logged, 15, "the relay's log line")
    assert (line["trace_id"], line["span_id"]) == (deliver.trace_id, deliver.span_id)
