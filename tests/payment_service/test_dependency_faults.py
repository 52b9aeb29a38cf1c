"""PostgreSQL stops answering under a running payment service (issue 10, items 1–3).

The payment service reaches its database through a TCP proxy the test controls; cut (refused)
or blackholed (accepted, never answered), every route answers within a few seconds — 503
`dependency_unavailable` with `Retry-After`, a notify anything but `success` (Alipay sends it
again) — `/readyz` answers 503 within 5 s, and the service recovers by itself once the
database is back. Default timeouts, as deployed.
"""

import asyncio
import time

import httpx
import pytest
from sqlalchemy.engine import make_url

from shared.http import internal_client
from tests.payment_service.conftest import (
    SECRET,
    alipay_signed,
    create_payment,
    form,
    migrate,
    new_order_id,
    notify_params,
    start_payment_service,
)
from tests.support.processes import free_port
from tests.support.stack import eventually
from tests.support.tcp_proxy import TcpProxy

API_BOUND_SECONDS = 10.0
READY_BOUND_SECONDS = 5.0


@pytest.fixture(scope="module")
async def proxied_payment(pg_databases):
    url = await pg_databases.create("payment_faults")
    await asyncio.to_thread(migrate, url)
    db = make_url(url)
    proxy = TcpProxy(db.host, db.port).start()
    proxied = db.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    closed = f"http://127.0.0.1:{free_port()}"
    service = await asyncio.to_thread(
        start_payment_service, proxied, f"{closed}/gateway.do", closed, "payment-faults"
    )
    yield service, proxy
    await asyncio.to_thread(service.stop)
    proxy.close()


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


@pytest.mark.parametrize("fault", ["blackhole", "cut"])
async def test_postgres_away_answers_503_fast_then_recovers(proxied_payment, fault):
    service, proxy = proxied_payment
    async with (
        httpx.AsyncClient(base_url=service.url, timeout=60) as http,
        internal_client(service.url, SECRET, 60) as internal,
    ):
        await eventually(lambda: _ready(http), 30, "ready before the fault")
        order_id = new_order_id()
        assert (await create_payment(service, order_id)).status_code == 200
        getattr(proxy, fault)()
        try:
            for what, call in [
                ("show", internal.get(f"/internal/payments/{order_id}")),
                # the bound is API_BOUND_SECONDS, not the helper's 5 s: a call may meet a pooled
                # connection opened before the fault, which waits out the statement timeout
                ("create", create_payment(service, client_timeout=60)),
            ]:
                started = time.monotonic()
                response = await call
                elapsed = time.monotonic() - started
                assert response.status_code == 503, (what, response.text)
                assert response.json()["code"] == "dependency_unavailable", (what, response.text)
                assert int(response.headers["retry-after"]) > 0
                assert elapsed < API_BOUND_SECONDS, (what, elapsed)
            started = time.monotonic()
            notify = await http.post(
                "/alipay/notify",
                content=form(alipay_signed(notify_params(order_id))),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert time.monotonic() - started < API_BOUND_SECONDS
            assert notify.status_code != 500 and notify.text != "success", notify.text
            started = time.monotonic()
            ready = await http.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert time.monotonic() - started < READY_BOUND_SECONDS
        finally:
            proxy.passing()
        await eventually(lambda: _ready(http), 30, "ready again once PostgreSQL is back")
        shown = await internal.get(f"/internal/payments/{order_id}")
        assert shown.status_code == 200, shown.text
