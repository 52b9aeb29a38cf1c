"""Trades close by themselves at their time limit; a notify that is never acknowledged stops
after Alipay's 8 attempts."""

import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from alipay_sandbox import clock
from alipay_sandbox.biz import PayOrder
from alipay_sandbox.notifier import RETRY_INTERVALS
from alipay_sandbox.trades import Link, TradeBook
from tests.support.cashier import login_url
from tests.support.processes import ServiceProcess

from .conftest import APP_ID, make_merchant, out_trade_no

BEIJING = timezone(timedelta(hours=8))
# How long a loaded machine may take for what should be instant; never the expected wait.
SLACK = 30.0


def beijing_in(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def whole_second_deadline(seconds: float) -> tuple[str, datetime]:
    """A `time_expire` at least `seconds` from now. Alipay takes whole seconds, so the deadline
    is rounded up to one: the text sent and the instant it means."""
    moment = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)
    moment += timedelta(seconds=1)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"), moment


def open_expiring_trade(make_url, margin: float = 2.0) -> tuple[str, str, datetime]:
    """(out_trade_no, pay URL, deadline) of a trade the buyer logged in to before its deadline.

    A link whose cashier page answers 409 is accepted as a stall only when the deadline had
    passed by the time of the answer; the trade is then made again with twice the margin, so a
    loaded machine slows the test down instead of failing it.
    """
    for _ in range(4):
        number = out_trade_no("E")
        expire, deadline = whole_second_deadline(margin)
        url = make_url(number, expire)
        page = httpx.get(url, timeout=SLACK)
        if page.status_code == 200:  # the buyer logs in: the trade exists from now on
            page = httpx.post(login_url(page), follow_redirects=True, timeout=SLACK)
        if page.status_code == 200:
            return number, url, deadline
        assert page.status_code == 409 and datetime.now(UTC) >= deadline, (
            f"the cashier refused a link before its deadline: {page.status_code} {page.text}"
        )
        margin *= 2
    raise AssertionError("the cashier never answered before a deadline even 16 s away")


def wait_for_status(emulator, number: str, status: str) -> dict:
    """The emulator's view of the trade once it has `status` (it expires trades every 0.2 s)."""
    deadline = time.monotonic() + SLACK
    while True:
        view = httpx.get(f"{emulator.url}/sandbox/trades/{number}").json()
        if view["status"] == status or time.monotonic() > deadline:
            assert view["status"] == status, f"{number} still {view['status']} after {SLACK} s"
            return view
        time.sleep(0.1)


def test_an_open_trade_closes_when_time_expire_passes(emulator, merchant, receiver):
    number, url, deadline = open_expiring_trade(
        lambda number, expire: merchant.page_pay_url(
            subject="e", out_trade_no=number, total_amount="1.00", time_expire=expire
        )
    )
    answer = merchant.api_alipay_trade_query(out_trade_no=number)
    # open until the deadline: a query answered before it finds the trade waiting
    if datetime.now(UTC) < deadline:
        assert answer["trade_status"] == "WAIT_BUYER_PAY"

    view = wait_for_status(emulator, number, "TRADE_CLOSED")

    # closed by the expiry, at or after the deadline it was given, never before
    assert datetime.fromisoformat(view["deadline"]) == deadline
    assert datetime.fromisoformat(view["gmt_close"]) >= deadline
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_CLOSED"
    answer = httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay")
    assert answer.status_code == 409
    assert answer.json()["sub_code"] == "ACQ.TRADE_HAS_CLOSE"
    assert httpx.get(url).status_code == 409  # the link is dead too
    assert receiver.posts(number) == []  # page pay notifies payments only


def test_an_expired_wap_trade_notifies_trade_closed(emulator, merchant, receiver):
    number, _, deadline = open_expiring_trade(
        lambda number, expire: merchant.wap_pay_url(
            subject="e", out_trade_no=number, total_amount="1.00", time_expire=expire
        )
    )

    [post] = receiver.wait_for(number, 1, timeout=SLACK)

    form = post["form"]
    assert form["trade_status"] == "TRADE_CLOSED" and form["gmt_close"]
    # the notify tells of a close at or after the deadline (both in whole Beijing seconds)
    assert clock.parse_beijing(form["gmt_close"]) >= deadline
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

    # the whole schedule takes about 4 s; wait until the emulator says it gave up
    deadline = time.monotonic() + sum(RETRY_INTERVALS) * 0.00005 + SLACK
    while True:
        [notify] = httpx.get(f"{fast_emulator.url}/sandbox/trades/{number}").json()["notifies"]
        if notify["finished"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    assert notify["finished"] is True and notify["acknowledged"] is False
    assert len(receiver.posts(number)) == 8
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
    process.stop(timeout=2 * SLACK)  # killed after that, which the return code would show

    # far from the 4 minutes the pending retry would take, however loaded the machine
    assert time.monotonic() - started < 2 * SLACK
    # uvicorn re-raises SIGTERM after a clean shutdown; the lifespan's last word proves it ran
    assert process.process.returncode in (0, -15)
    assert "sandbox.stopped" in process.tail()


def test_the_book_expires_exactly_the_unpaid_trades_that_are_due():
    """The book keeps its open trades by deadline (expiry runs on every call: it must not walk
    every trade ever made); a paid or closed trade is left as it is, and each closes once."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    book = TradeBook()

    def engage(number: str, minutes: int):
        deadline = start + timedelta(minutes=minutes)
        order = PayOrder(
            number, Decimal("1.00"), "s", "FAST_INSTANT_TRADE_PAY", *[None] * 3, deadline
        )
        link = Link(
            number, "alipay.trade.page.pay", order, APP_ID, "utf-8", "RSA2", *[None] * 3, start
        )
        book.issue(link)
        return book.engage(link, start)

    trades = {number: engage(number, minutes) for number, minutes in [("c", 3), ("a", 1), ("b", 2)]}
    trades["d"] = engage("d", 2)
    book.pay(trades["b"], start)
    book.close(trades["d"], start)
    assert book.expired(start + timedelta(minutes=1)) == [trades["a"]]
    assert book.expired(start + timedelta(minutes=2, seconds=30)) == []
    assert [t.status for t in trades.values()] == [
        "WAIT_BUYER_PAY",
        "TRADE_CLOSED",
        "TRADE_SUCCESS",
        "TRADE_CLOSED",
    ]
    assert book.expired(start + timedelta(hours=1)) == [trades["c"]]
    assert book.expired(start + timedelta(hours=2)) == []
    assert trades["c"].gmt_close == start + timedelta(hours=1)
