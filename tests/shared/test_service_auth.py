import httpx
import pytest
from fastapi import Depends, FastAPI

from shared.errors import Problem, install_problem_handlers
from shared.nonces import NONCE_SECONDS, MemoryNonceStore
from shared.service_auth import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ServiceAuth,
    check_signature,
    require_service_auth,
    signed_headers,
)

SECRET = "s3cret-for-tests"


def test_a_signed_request_verifies():
    headers = signed_headers(SECRET, "POST", "/internal/x?a=1", b'{"a":1}')
    check_signature(SECRET, "POST", "/internal/x?a=1", b'{"a":1}', headers)


@pytest.mark.parametrize(
    "method, path, body, secret",
    [
        ("GET", "/internal/x?a=1", b'{"a":1}', SECRET),  # another method
        ("POST", "/internal/y?a=1", b'{"a":1}', SECRET),  # another route
        ("POST", "/internal/x?a=2", b'{"a":1}', SECRET),  # another query
        ("POST", "/internal/x?a=1", b'{"a":2}', SECRET),  # another body
        ("POST", "/internal/x?a=1", b'{"a":1}', "other"),  # checked with another secret
    ],
)
def test_any_change_breaks_the_signature(method, path, body, secret):
    headers = signed_headers(SECRET, "POST", "/internal/x?a=1", b'{"a":1}')
    with pytest.raises(Problem) as caught:
        check_signature(secret, method, path, body, headers)
    assert caught.value.status == 401


def test_a_signature_within_the_window_of_60_s_is_fresh():
    headers = signed_headers(SECRET, "POST", "/p", b"", now=1_000_000)
    check_signature(SECRET, "POST", "/p", b"", headers, now=1_000_000 + 60)


def test_the_nonce_is_signed():
    headers = signed_headers(SECRET, "POST", "/p", b"")
    with pytest.raises(Problem) as caught:
        check_signature(SECRET, "POST", "/p", b"", {**headers, NONCE_HEADER: "other"})
    assert caught.value.code == "bad_signature"


def test_a_stale_signature_is_refused():
    headers = signed_headers(SECRET, "POST", "/p", b"", now=1_000_000)
    with pytest.raises(Problem) as caught:
        check_signature(SECRET, "POST", "/p", b"", headers, now=1_000_000 + 61)
    assert caught.value.code == "stale_signature"


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/internal/echo", dependencies=[Depends(require_service_auth(lambda r: SECRET))])
    async def echo(payload: dict):
        return payload

    return app


async def test_the_httpx_auth_and_the_dependency_agree():
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", auth=ServiceAuth(SECRET)
    ) as client:
        response = await client.post("/internal/echo?x=1", json={"n": 1})
    assert response.status_code == 200
    assert response.json() == {"n": 1}


async def test_an_unsigned_call_gets_a_401_problem():
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/internal/echo", json={"n": 1})
        forged = await client.post(
            "/internal/echo",
            json={"n": 1},
            headers={TIMESTAMP_HEADER: "1", SIGNATURE_HEADER: "00", NONCE_HEADER: "n"},
        )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unsigned_request"
    assert forged.status_code == 401


def test_the_in_process_store_refuses_a_nonce_for_twice_the_window():
    """The quick start's store (one process): a timestamp may be a window old or a window ahead,
    so a nonce is remembered for 120 s, and forgotten after."""
    store = MemoryNonceStore()
    assert NONCE_SECONDS == 120
    assert store.first_use_at("n1", now=1000.0)
    assert not store.first_use_at("n1", now=1000.0 + 119.9)
    assert store.first_use_at("n2", now=1000.0 + 119.9)
    assert store.first_use_at("n1", now=1000.0 + 120)
    assert list(store.seen) == ["n2", "n1"]  # what was forgotten is gone from memory
