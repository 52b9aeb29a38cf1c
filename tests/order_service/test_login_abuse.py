"""Log-in and registration under abuse (issue 10, item 4): the contract's 429 `too_many_requests`
with Retry-After per account and per client address, counted in Redis (every replica together)
or in process for `memory://`; argon2 in its own bounded executor; usernames unique regardless
of case; the password policy."""

import asyncio
import os
import sys
import threading
import time
import uuid

import httpx
import pytest

from tests.order_service.conftest import migrated_database

PASSWORD = "correct horse battery"


def _name() -> str:
    return f"user_{uuid.uuid4().hex[:10]}"


async def _register(client, username, password=PASSWORD) -> httpx.Response:
    return await client.post(
        "/api/auth/register", json={"username": username, "password": password}
    )


async def _log_in(client, username, password=PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/token", data={"username": username, "password": password})


def _assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "too_many_requests"
    assert 1 <= int(response.headers["retry-after"]) <= 60


@pytest.mark.parametrize("store", ["redis", "memory"])
async def test_failed_log_ins_lock_the_account_for_the_minute(make_shop, store):
    shop = await make_shop(**({"redis_url": "memory://"} if store == "memory" else {}))
    victim, bystander = _name(), _name()
    for username in (victim, bystander):
        assert (await _register(shop.client, username)).status_code == 201
    for _ in range(5):  # ORDER_LOGIN_FAILURE_LIMIT's default
        assert (await _log_in(shop.client, victim, "wrong password")).status_code == 401
    _assert_429(await _log_in(shop.client, victim, "wrong password"))
    # the right password too, until the minute is over: a guesser learns nothing
    _assert_429(await _log_in(shop.client, victim))
    # the account is the username regardless of case
    _assert_429(await _log_in(shop.client, victim.upper()))
    # nobody else is locked out
    assert (await _log_in(shop.client, bystander)).status_code == 200


async def test_a_burst_of_concurrent_guesses_gets_no_more_than_the_limit(make_shop):
    shop = await make_shop(password_hash_workers=2)
    victim = _name()
    assert (await _register(shop.client, victim)).status_code == 201
    answers = await asyncio.gather(*(_log_in(shop.client, victim, f"guess {n}") for n in range(30)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(401) <= 5 and statuses.count(429) >= 25, statuses


async def test_successful_log_ins_do_not_count_as_failures(make_shop):
    shop = await make_shop()
    username = _name()
    assert (await _register(shop.client, username)).status_code == 201
    for _ in range(4):
        assert (await _log_in(shop.client, username, "typo")).status_code == 401
    for _ in range(6):
        assert (await _log_in(shop.client, username)).status_code == 200


async def test_failures_are_counted_across_replicas_in_redis(make_shop, pg_databases):
    url = await migrated_database(pg_databases)
    first = await make_shop(database_url=url)
    second = await make_shop(database_url=url)
    username = _name()
    assert (await _register(first.client, username)).status_code == 201
    for shop in (first, second, first, second, first):
        assert (await _log_in(shop.client, username, "wrong")).status_code == 401
    _assert_429(await _log_in(second.client, username))


async def test_registrations_and_log_ins_are_limited_per_client_address(make_shop):
    shop = await make_shop(client_rate_limit=3)
    first, second = _name(), _name()
    assert (await _register(shop.client, first)).status_code == 201
    assert (await _register(shop.client, second)).status_code == 201
    assert (await _log_in(shop.client, first)).status_code == 200
    _assert_429(await _register(shop.client, _name()))
    _assert_429(await _log_in(shop.client, second))
    # another address has its own budget
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=shop.app, client=("203.0.113.7", 40000)),
        base_url="http://order.test",
    )
    async with other:
        assert (await _log_in(other, second)).status_code == 200


async def test_usernames_are_unique_regardless_of_case(shop):
    username = _name()
    assert (await _register(shop.client, username)).status_code == 201
    taken = await _register(shop.client, username.upper())
    assert taken.status_code == 409 and taken.json()["code"] == "username_taken"
    assert (await _log_in(shop.client, username.upper())).status_code == 200


@pytest.mark.parametrize(
    "password",
    ["        ", "password123", "12345678", "QWERTYUIOP", "same-as-name"],
)
async def test_weak_passwords_are_refused(shop, password):
    username = "same-as-name" if password == "same-as-name" else _name()
    answer = await _register(shop.client, username, password)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "weak_password"


async def test_a_password_under_8_characters_is_refused(shop):
    answer = await _register(shop.client, _name(), "Xy7!abc")
    assert answer.status_code == 422 and answer.json()["code"] == "validation_error"


def _threads_in_argon2() -> int:
    """How many threads of this process are inside argon2 right now."""
    busy = 0
    for frame in sys._current_frames().values():
        while frame is not None:
            if f"{os.sep}argon2{os.sep}" in frame.f_code.co_filename:
                busy += 1
                break
            frame = frame.f_back
    return busy


async def test_a_log_in_flood_runs_argon2_one_at_a_time_and_queues_boundedly(make_shop):
    """argon2 runs in its own executor (one thread by default), so a flood of log-ins leaves the
    other cores to the event loop, where it used to take every thread of the shared pool; past
    its queue a log-in answers 429 at once instead of waiting."""
    shop = await make_shop(login_failure_limit=0)
    peak, sampling = 0, True

    def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, _threads_in_argon2())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        answers = await asyncio.gather(
            *(_log_in(shop.client, f"nobody{n}", "wrong pw") for n in range(100))
        )
    finally:
        sampling = False
        sampler.join()
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(429) > 0, "100 log-ins at once were all queued"
    assert statuses.count(401) >= 1
    assert peak == 1, f"{peak} threads hashed at once"
