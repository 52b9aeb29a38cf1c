"""Replays (issue 10, item 12) on the recommended deployment: each service as one real process
with two uvicorn workers. A captured signed internal request is accepted once; its replays are
refused (401 `replayed_request`) whichever worker they reach, because every worker of a service
remembers nonces in one store (the order service's Redis, the payment service's database)."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.service_auth import signed_headers
from tests.order_service.conftest import migrated_database, order_env, order_settings
from tests.payment_service.conftest import SECRET as PAYMENT_SECRET
from tests.payment_service.conftest import migrate, payment_env
from tests.support.processes import ServiceProcess, free_port
from tests.support.servers import fresh_redis_url

REPLAYS = 10


@pytest.fixture(scope="module")
async def order_service(pg_databases):
    settings = order_settings(await migrated_database(pg_databases), await fresh_redis_url())
    process = ServiceProcess(
        "order_service.main:app", order_env(settings), "order-replays", workers=2
    )
    await asyncio.to_thread(process.start)
    yield process, settings.service_auth_secret
    await asyncio.to_thread(process.stop)


@pytest.fixture(scope="module")
async def payment_service(pg_databases):
    url = await pg_databases.create("payment_replays")
    await asyncio.to_thread(migrate, url)
    port = free_port()
    closed = f"http://127.0.0.1:{free_port()}"  # neither Alipay nor the order service is called
    env = payment_env(url, f"{closed}/gateway.do", closed, port=port)
    process = ServiceProcess("payment_service.main:app", env, "payment-replays", port, workers=2)
    await asyncio.to_thread(process.start)
    yield process
    await asyncio.to_thread(process.stop)


async def _client_per_worker(process: ServiceProcess) -> list[httpx.AsyncClient]:
    """One keep-alive connection to each of the two workers: connections are opened a few at a
    time until both workers hold one (which worker accepts a connection is the kernel's choice;
    /proc says which one did)."""
    by_worker: dict[int, httpx.AsyncClient] = {}
    for _ in range(25):
        clients = [
            httpx.AsyncClient(
                base_url=process.url, timeout=30, limits=httpx.Limits(max_connections=1)
            )
            for _ in range(4)
        ]
        for client, response in zip(
            clients, await asyncio.gather(*(c.get("/healthz") for c in clients)), strict=True
        ):
            port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            worker = process.worker_serving(port)
            if worker is not None and worker not in by_worker:
                by_worker[worker] = client
            else:
                await client.aclose()
        if len(by_worker) == 2:
            return list(by_worker.values())
    for client in by_worker.values():
        await client.aclose()
    raise AssertionError(f"connections reached {len(by_worker)} worker(s), not 2")


async def _first_and_replays(process: ServiceProcess, path: str, body: bytes, secret: str):
    """The signed request sent to one worker, then the same bytes and headers REPLAYS times,
    to each worker in turn."""
    headers = {"Content-Type": "application/json"} | signed_headers(secret, "POST", path, body)
    clients = await _client_per_worker(process)
    try:
        first = await clients[0].post(path, content=body, headers=headers)
        replays = [
            await clients[(n + 1) % 2].post(path, content=body, headers=headers)
            for n in range(REPLAYS)
        ]
    finally:
        for client in clients:
            await client.aclose()
    return first, replays


def _assert_replays_refused(replays: list[httpx.Response]) -> None:
    accepted = [r.status_code for r in replays if r.status_code != 401]
    assert not accepted, f"{len(accepted)} of {REPLAYS} replays were answered {accepted}"
    for replay in replays:
        assert replay.headers["content-type"] == "application/problem+json"
        assert replay.json()["code"] == "replayed_request"


async def test_the_payment_service_accepts_a_signed_request_once_whatever_the_worker(
    payment_service,
):
    order_id = f"R{uuid.uuid4().hex[:20]}"
    body = json.dumps(
        {
            "order_id": order_id,
            "amount": "1.00",
            "subject": "replayed",
            "pay_deadline": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
        }
    ).encode()
    first, replays = await _first_and_replays(
        payment_service, "/internal/payments", body, PAYMENT_SECRET
    )
    assert first.status_code == 200, first.text
    _assert_replays_refused(replays)


async def test_the_order_service_accepts_a_signed_request_once_whatever_the_worker(
    order_service,
):
    process, secret = order_service
    event = {
        "event_id": uuid.uuid4().hex,
        "type": "paid",
        "order_id": "NO-SUCH-ORDER",
        "amount": "1.00",
        "trade_no": "2030" + uuid.uuid4().hex[:20],
        "paid_at": "2030-01-01T00:00:00Z",
    }
    body = json.dumps({"events": [event]}).encode()
    first, replays = await _first_and_replays(process, "/internal/payment-events", body, secret)
    assert first.status_code == 200, first.text
    assert first.json()["results"][0]["result"] == "refused"  # accepted, and no such order
    _assert_replays_refused(replays)
