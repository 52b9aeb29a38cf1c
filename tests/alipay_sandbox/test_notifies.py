"""Notify delivery: Alipay's retry schedule (scaled), and the faults tests can switch on."""

import time
from decimal import Decimal
from itertools import pairwise

import httpx
import pytest

from alipay_sandbox.notifier import RETRY_INTERVALS

from .conftest import SCALE, make_merchant, out_trade_no

# How late a loaded machine may deliver a notify. Early is never allowed: the schedule's waits are
# lower bounds. Late is bounded so that a wrong schedule still shows: a retry that waited for
# the next interval instead (0.6 s instead of 0.24 s, 3.6 s instead of 0.6 s) is past it.
LATE = 2.5
SLACK = 30.0  # a deadline for what should take a fraction of a second


@pytest.fixture(autouse=True)
def no_faults(emulator):
    httpx.delete(f"{emulator.url}/sandbox/faults")
    yield
    httpx.delete(f"{emulator.url}/sandbox/faults")


def issue(merchant, number: str, amount: str = "6.60") -> None:
    page = httpx.get(merchant.page_pay_url(subject="n", out_trade_no=number, total_amount=amount))
    assert page.status_code == 200, page.text


def pay(emulator, number: str) -> float:
    """Pays; the monotonic time just before asking, which the first notify cannot precede."""
    before = time.monotonic()
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 200
    return before


def fault(emulator, **body) -> None:
    answer = httpx.post(f"{emulator.url}/sandbox/faults", json=body)
    assert answer.status_code == 200, answer.text


def verified(merchant, form: dict) -> bool:
    form = dict(form)
    sign = form.pop("sign")
    return merchant.verify(form, sign)


def trade_view(emulator, number: str) -> dict:
    return httpx.get(f"{emulator.url}/sandbox/trades/{number}").json()


def wait_finished(emulator, number: str, timeout: float = SLACK) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = trade_view(emulator, number)
        if view["notifies"] and all(n["finished"] for n in view["notifies"]):
            return view
        time.sleep(0.05)
    raise AssertionError(f"notifies of {number} still running: {trade_view(emulator, number)}")


def test_retried_on_the_scaled_schedule_until_success(emulator, merchant, receiver):
    number = out_trade_no("N")
    receiver.answer(number, "fail", "success!", "SUCCESS")  # only the word counts
    issue(merchant, number)

    pay(emulator, number)

    view = wait_finished(emulator, number)
    posts = receiver.posts(number)
    assert len(posts) == 4  # nothing after the acknowledgement
    assert len({p["form"]["notify_id"] for p in posts}) == 1
    assert all(verified(merchant, p["form"]) for p in posts)
    gaps = [later["at"] - earlier["at"] for earlier, later in pairwise(posts)]
    for gap, interval in zip(gaps, RETRY_INTERVALS[:3], strict=True):
        assert interval * SCALE <= gap <= interval * SCALE + LATE, (gaps, RETRY_INTERVALS[:3])
    [notify] = view["notifies"]
    assert notify["acknowledged"] is True
    assert [d["response"] for d in notify["deliveries"]] == [
        "fail",
        "success!",
        "SUCCESS",
        "success",
    ]


def test_repeat_sends_concurrent_copies_with_one_notify_id(emulator, merchant, receiver):
    number = out_trade_no("N")
    fault(emulator, out_trade_no=number, repeat=3)
    issue(merchant, number)
    pay(emulator, number)

    view = wait_finished(emulator, number)  # every copy sent: no more will come

    posts = receiver.posts(number)
    assert len(posts) == 3
    assert len({p["form"]["notify_id"] for p in posts}) == 1
    assert all(verified(merchant, p["form"]) for p in posts)
    kinds = [d["kind"] for d in view["notifies"][0]["deliveries"]]
    assert sorted(kinds) == ["duplicate", "duplicate", "genuine"]


def test_finished_first_sends_trade_finished_before_trade_success(emulator, merchant, receiver):
    number = out_trade_no("N")
    fault(emulator, out_trade_no=number, finished_first=True)
    issue(merchant, number)
    pay(emulator, number)

    posts = receiver.wait_for(number, 2)

    assert [p["form"]["trade_status"] for p in posts] == ["TRADE_FINISHED", "TRADE_SUCCESS"]
    assert posts[0]["form"]["notify_id"] != posts[1]["form"]["notify_id"]
    assert all(verified(merchant, p["form"]) for p in posts)


def test_fail_first_skips_deliveries_that_are_then_retried(emulator, merchant, receiver):
    number = out_trade_no("N")
    fault(emulator, out_trade_no=number, fail_first=2)
    issue(merchant, number)
    paid_at = pay(emulator, number)

    [post] = receiver.wait_for(number, 1)

    assert post["at"] - paid_at >= sum(RETRY_INTERVALS[:2]) * SCALE  # two waits went by
    deliveries = wait_finished(emulator, number)["notifies"][0]["deliveries"]
    assert [d["kind"] for d in deliveries] == ["not_sent", "not_sent", "genuine"]
    assert deliveries[2]["attempt"] == 3 and deliveries[2]["acknowledged"]


def test_bad_signature_copy_comes_before_the_genuine_notify(emulator, merchant, receiver):
    number = out_trade_no("N")
    fault(emulator, out_trade_no=number, bad_signature=True)
    receiver.answer(number, "fail")
    issue(merchant, number)
    pay(emulator, number)

    forged, genuine = receiver.wait_for(number, 2)

    assert not verified(merchant, forged["form"])
    assert verified(merchant, genuine["form"])
    assert forged["form"]["notify_id"] == genuine["form"]["notify_id"]
    kinds = [
        (d["kind"], d["response"])
        for d in wait_finished(emulator, number)["notifies"][0]["deliveries"]
    ]
    assert kinds == [("bad_signature", "fail"), ("genuine", "success")]


def test_amount_delta_copy_is_validly_signed_with_another_amount(emulator, merchant, receiver):
    number = out_trade_no("N")
    fault(emulator, out_trade_no=number, amount_delta="0.01")
    issue(merchant, number, amount="6.60")
    pay(emulator, number)

    forged, genuine = receiver.wait_for(number, 2)

    assert verified(merchant, forged["form"])  # the merchant's amount check must catch it
    assert Decimal(forged["form"]["total_amount"]) == Decimal("6.61")
    assert genuine["form"]["total_amount"] == "6.60"


def test_delay_holds_back_the_first_delivery(emulator, merchant, receiver):
    number = out_trade_no("N")
    fault(emulator, out_trade_no=number, delay_seconds=1.0)
    issue(merchant, number)
    paid_at = pay(emulator, number)
    [post] = receiver.wait_for(number, 1, timeout=SLACK)
    assert post["at"] - paid_at >= 1.0  # held back: nothing arrives before the delay is over


def test_faults_for_all_trades_yield_to_a_trades_own_and_are_cleared(emulator, merchant, receiver):
    everyone, special, later = out_trade_no("N"), out_trade_no("N"), out_trade_no("N")
    fault(emulator, repeat=2)
    fault(emulator, out_trade_no=special, repeat=1)
    listed = httpx.get(f"{emulator.url}/sandbox/faults").json()["faults"]
    assert len(listed) == 2
    for number in (everyone, special):
        issue(merchant, number)
        pay(emulator, number)
    receiver.wait_for(everyone, 2)
    receiver.wait_for(special, 1)

    assert httpx.delete(f"{emulator.url}/sandbox/faults").json() == {"faults": []}
    issue(merchant, later)
    pay(emulator, later)
    for number in (everyone, special, later):
        wait_finished(emulator, number)  # every copy sent: no more will come
    assert len(receiver.posts(everyone)) == 2
    assert len(receiver.posts(special)) == 1 and len(receiver.posts(later)) == 1


def test_bad_fault_bodies_are_refused(emulator):
    for body in ({"repeat": 0}, {"amount_delta": 0.01}, {"fail_first": -1}, {"typo": True}):
        answer = httpx.post(f"{emulator.url}/sandbox/faults", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["code"] == "validation_error"


def test_refund_notifies_follow_the_same_faults(emulator, merchant, receiver):
    number = out_trade_no("N")
    issue(merchant, number)
    pay(emulator, number)
    receiver.wait_for(number, 1)
    fault(emulator, out_trade_no=number, repeat=2)
    merchant.api_alipay_trade_refund("1.00", out_trade_no=number, out_request_no="f1")
    posts = receiver.wait_for(number, 3)
    assert [p["form"].get("out_biz_no") for p in posts] == [None, "f1", "f1"]


def test_an_unreachable_notify_url_is_retried_and_recorded(emulator, keys, receiver):
    merchant = make_merchant(emulator, keys, receiver)
    merchant._app_notify_url = "http://127.0.0.1:9/notify"  # discard port: nobody listens
    number = out_trade_no("N")
    issue(merchant, number)
    pay(emulator, number)
    deadline = time.monotonic() + SLACK

    def failed() -> list[dict]:  # a delivery is listed when it starts; these have ended
        deliveries = trade_view(emulator, number)["notifies"][0]["deliveries"]
        return [d for d in deliveries if d["error"] or d["status_code"] is not None]

    while len(ended := failed()) < 2:
        assert time.monotonic() < deadline, f"no retry after {SLACK} s: {ended}"
        time.sleep(0.05)
    assert [d["attempt"] for d in ended[:2]] == [1, 2]  # tried, then retried
    assert all(d["error"] and d["status_code"] is None for d in ended)
