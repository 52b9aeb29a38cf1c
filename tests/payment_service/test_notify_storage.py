"""Unverified notifies are stored bounded (issue 10, item 6): anyone can send them, so each keeps
only its head plus the SHA-256 and size of the whole, and at most
PAYMENT_UNVERIFIED_NOTIFIES_PER_MINUTE are stored per process and minute; the rest are only
counted. Before, 300 forged 64 kB notifies stored 41 MB in 1.6 s."""

import asyncio
import hashlib

import httpx
import pytest

from tests.payment_service.conftest import (
    PaymentDb,
    alipay_signed,
    create_payment,
    form,
    migrate,
    notify_params,
    start_payment_service,
)
from tests.payment_service.test_metrics import scrape, value
from tests.support.processes import free_port

LIMIT = 5
FORGED = 30


@pytest.fixture(scope="module")
async def capped_stack(pg_databases, sandbox):
    url = await pg_databases.create("payment")
    await asyncio.to_thread(migrate, url)
    process = await asyncio.to_thread(
        start_payment_service,
        url,
        f"{sandbox.url}/gateway.do",
        f"http://127.0.0.1:{free_port()}",
        name="payment-capped",
        PAYMENT_UNVERIFIED_NOTIFIES_PER_MINUTE=str(LIMIT),
    )
    db = PaymentDb(url)
    yield process, db
    process.stop()
    await db.engine.dispose()


async def test_forged_notifies_are_stored_cut_and_capped_and_genuine_ones_whole(capped_stack):
    service, db = capped_stack
    response = await create_payment(service)
    assert response.status_code == 200, response.text
    order_id = response.json()["order_id"]
    genuine = form(alipay_signed(notify_params(order_id)))
    forged = [
        genuine.replace(b"total_amount=12.50", b"total_amount=0.01")
        + f"&padding={i:04d}".encode()
        + b"x" * (60 * 1024)
        for i in range(FORGED)
    ]
    before = await scrape(service)

    async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
        for group in range(0, FORGED, 5):
            answers = await asyncio.gather(
                *(client.post("/alipay/notify", content=body) for body in forged[group : group + 5])
            )
            assert [a.text for a in answers] == ["fail"] * 5
        # the cap is on unverified notifies only: the genuine one is stored whole and pays
        assert (await client.post("/alipay/notify", content=genuine)).text == "success"

    rows = await db.notifies()
    unverified = [row for row in rows if not row["verified"]]
    # one window of a minute, or two if the burst crossed the end of the first
    assert 1 <= len(unverified) <= 2 * LIMIT
    by_digest = {hashlib.sha256(body).hexdigest(): body for body in forged}
    for row in unverified:
        body = by_digest[row["body_sha256"]]
        assert row["body_size"] == len(body)
        assert bytes(row["raw_body"]) == body[: 4 * 1024]
        assert row["outcome"] == "bad_signature"
    assert sum(len(bytes(row["raw_body"])) for row in unverified) <= 2 * LIMIT * 4 * 1024

    [paid] = [row for row in rows if row["verified"]]
    assert bytes(paid["raw_body"]) == genuine
    assert paid["body_sha256"] == hashlib.sha256(genuine).hexdigest()
    assert (await db.payment(order_id))["status"] == "paid"

    after = await scrape(service)
    unstored = value(after, "payment_notifies_unstored_total") - value(
        before, "payment_notifies_unstored_total"
    )
    assert unstored == FORGED - len(unverified)
    moved = value(after, "payment_notifies_total", outcome="bad_signature") - value(
        before, "payment_notifies_total", outcome="bad_signature"
    )
    assert moved == FORGED
