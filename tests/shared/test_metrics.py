"""shared/metrics.py: per-route HTTP metrics by route template, requests in flight, and the
database pool's connections in use and waiting, read from a real PostgreSQL pool."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from shared.db import create_engine
from shared.metrics import HttpMetricsMiddleware, track_pool, untrack_pool
from tests.support.stack import eventually


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def app_with_routes(gate: asyncio.Event, inside: asyncio.Event) -> FastAPI:
    app = FastAPI()
    app.add_middleware(HttpMetricsMiddleware)

    @app.get("/metrics-test/items/{item_id}")
    async def item(item_id: str):
        return {"id": item_id}

    @app.get("/metrics-test/slow")
    async def slow():
        inside.set()
        await gate.wait()
        return {}

    @app.get("/metrics-test/broken")
    async def broken():
        raise RuntimeError("boom")

    return app


@pytest.fixture
def client_and_events():
    gate, inside = asyncio.Event(), asyncio.Event()
    transport = httpx.ASGITransport(app=app_with_routes(gate, inside), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test"), gate, inside


async def test_requests_are_counted_and_timed_by_route_template(client_and_events):
    client, _, _ = client_and_events
    route = "/metrics-test/items/{item_id}"
    before = sample("http_requests_total", method="GET", route=route, status="200")
    timed = sample("http_request_duration_seconds_count", method="GET", route=route)
    for item_id in ("a", "b", "c"):
        assert (await client.get(f"/metrics-test/items/{item_id}")).status_code == 200
    assert sample("http_requests_total", method="GET", route=route, status="200") == before + 3
    assert sample("http_request_duration_seconds_count", method="GET", route=route) == timed + 3
    # no series per raw path
    names = {s.labels.get("route") for m in REGISTRY.collect() for s in m.samples}
    assert "/metrics-test/items/a" not in names


async def test_unmatched_paths_share_one_label_and_exceptions_count_as_500(client_and_events):
    client, _, _ = client_and_events
    unmatched = sample("http_requests_total", method="GET", route="unmatched", status="404")
    for n in range(3):
        assert (await client.get(f"/no/such/path/{n}")).status_code == 404
    assert sample("http_requests_total", method="GET", route="unmatched", status="404") == (
        unmatched + 3
    )
    broken = sample("http_requests_total", method="GET", route="/metrics-test/broken", status="500")
    assert (await client.get("/metrics-test/broken")).status_code == 500
    assert (
        sample("http_requests_total", method="GET", route="/metrics-test/broken", status="500")
        == broken + 1
    )


async def test_a_request_being_served_is_in_progress(client_and_events):
    client, gate, inside = client_and_events
    idle = sample("http_requests_in_progress")
    request = asyncio.create_task(client.get("/metrics-test/slow"))
    await asyncio.wait_for(inside.wait(), 10)
    assert sample("http_requests_in_progress") == idle + 1
    gate.set()
    assert (await request).status_code == 200
    assert sample("http_requests_in_progress") == idle


async def test_the_pool_reports_connections_in_use_and_checkouts_waiting(pg_databases):
    url = await pg_databases.create("pool_metrics")
    engine = create_engine(url, pool_size=1, max_overflow=0)
    track_pool("test", engine)
    try:
        assert sample("db_pool_max", pool="test") == 1
        async with engine.connect() as held:
            await held.exec_driver_sql("SELECT 1")
            assert sample("db_pool_connections_in_use", pool="test") == 1
            assert sample("db_pool_connections_waiting", pool="test") == 0

            async def second():
                async with engine.connect() as conn:
                    await conn.exec_driver_sql("SELECT 1")

            waiter = asyncio.create_task(second())

            async def one_waiting():
                return sample("db_pool_connections_waiting", pool="test") == 1

            await eventually(one_waiting, 10, "one checkout waiting for the pool")
        await asyncio.wait_for(waiter, 10)
        assert sample("db_pool_connections_waiting", pool="test") == 0
        assert sample("db_pool_connections_in_use", pool="test") == 0
    finally:
        untrack_pool("test")
        await engine.dispose()
    assert REGISTRY.get_sample_value("db_pool_connections_in_use", {"pool": "test"}) is None
