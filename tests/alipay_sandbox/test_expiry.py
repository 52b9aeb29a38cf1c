"""Trades close by themselves at their time limit; a notify that is never acknowledged stops
after Alipay's 8 attempts."""

import time
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from alipay_sandbox.notifier import RETRY_INTERVALS
from tests.support.processes import ServiceProcess

from .conftest import APP_ID, make_merchant, out_trade_no

BEIJING = timezone(timedelta(hours=8))


def beijing_in(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def test_an_open_trade_closes_when_time_expire_passes(emulator, merchant, receiver):
    number = out_trade_no("E")
    url = merchant.page_pay_url(
        subject="e", out_trade_no=number, total_amount="1.00", time_expire=beijing_in(2)
    )
    assert httpx.get(url).status_code == 200
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "WAIT_BUYER_PAY"

    time.sleep(3.2)

    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_CLOSED"
    answer = httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay")
    assert answer.status_code == 409
    assert answer.json()["sub_code"] == "ACQ.TRADE_HAS_CLOSE"
    assert httpx.get(url).status_code == 409  # the link is dead too
    assert receiver.posts(number) == []  # page pay notifies payments only


def test_an_expired_wap_trade_notifies_trade_closed(emulator, merchant, receiver):
    number = out_trade_no("E")
    url = merchant.wap_pay_url(
        subject="e", out_trade_no=number, total_amount="1.00", time_expire=beijing_in(1)
    )
    assert httpx.get(url).status_code == 200

    # Expiry runs every second; the timeout is slack for a loaded machine, not the expected wait.
    [post] = receiver.wait_for(number, 1, timeout=15)

    form = post["form"]
    assert form["trade_status"] == "TRADE_CLOSED" and form["gmt_close"]
    assert "refund_fee" not in form and "gmt_refund" not in form


def test_a_link_past_its_deadline_cannot_be_opened_or_paid(emulator, merchant):
    number = out_trade_no("E")
    url = merchant.page_pay_url(
        subject="e", out_trade_no=number, total_amount="1.00", time_expire=beijing_in(-60)
    )
    page = httpx.get(url)
    assert page.status_code == 409 and "ACQ.TRADE_HAS_CLOSE" in page.text
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 409
    assert merchant.api_alipay_trade_query(out_trade_no=number)["sub_code"] == "ACQ.TRADE_NOT_EXIST"


@pytest.fixture(scope="module")
def fast_emulator(keys):
    """A second emulator whose whole 24-hour schedule takes about 4 seconds."""
    folder = keys["folder"]
    process = ServiceProcess(
        app="alipay_sandbox.main:app",
        name="alipay-sandbox-fast",
        env={
            "APP_ENV": "test",
            "SANDBOX_PRIVATE_KEY": str(folder / "alipay_private_key.pem"),
            "SANDBOX_APP_ID": APP_ID,
            "SANDBOX_APP_PUBLIC_KEY": str(folder / "app_public_key.pem"),
            "SANDBOX_NOTIFY_SCALE": "0.00005",
        },
    ).start()
    yield process
    process.stop()


def test_a_notify_never_acknowledged_stops_after_eight_attempts(fast_emulator, keys, receiver):
    merchant = make_merchant(fast_emulator, keys, receiver)
    number = out_trade_no("E")
    receiver.answer(number, *["fail"] * 20)
    assert (
        httpx.get(
            merchant.page_pay_url(subject="e", out_trade_no=number, total_amount="1.00")
        ).status_code
        == 200
    )
    assert httpx.post(f"{fast_emulator.url}/sandbox/trades/{number}/pay").status_code == 200

    time.sleep(sum(RETRY_INTERVALS) * 0.00005 + 1.5)

    assert len(receiver.posts(number)) == 8
    [notify] = httpx.get(f"{fast_emulator.url}/sandbox/trades/{number}").json()["notifies"]
    assert notify["finished"] is True and notify["acknowledged"] is False
    assert [d["attempt"] for d in notify["deliveries"]] == list(range(1, 9))


def test_stops_promptly_with_notifies_still_pending(keys, receiver):
    folder = keys["folder"]
    process = ServiceProcess(
        app="alipay_sandbox.main:app",
        name="alipay-sandbox-stop",
        env={
            "APP_ENV": "test",
            "SANDBOX_PRIVATE_KEY": str(folder / "alipay_private_key.pem"),
            "SANDBOX_APP_ID": APP_ID,
            "SANDBOX_APP_PUBLIC_KEY": str(folder / "app_public_key.pem"),
        },
    ).start()
    merchant = make_merchant(process, keys, receiver)
    number = out_trade_no("S")
    receiver.answer(number, "fail")  # the next retry is 4 minutes away at scale 1
    httpx.get(merchant.page_pay_url(subject="s", out_trade_no=number, total_amount="1.00"))
    assert httpx.post(f"{process.url}/sandbox/trades/{number}/pay").status_code == 200
    receiver.wait_for(number, 1)

    started = time.monotonic()
    process.stop()

    assert time.monotonic() - started < 5
    # uvicorn re-raises SIGTERM after a clean shutdown; the lifespan's last word proves it ran
    assert process.process.returncode in (0, -15)
    assert "sandbox.stopped" in process.tail()
