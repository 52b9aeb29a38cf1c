"""Sizes (issue 10, item 5): 413 `payload_too_large` over 1 MiB while the body streams in, 431
for oversized headers, internal routes answering 401 before the body is read or parsed — on the
real order and payment service processes."""

import asyncio
import contextlib
import json
import socket
import time

import httpx
import pytest

from tests.order_service.conftest import migrated_database, order_env, order_settings
from tests.payment_service.conftest import migrate, start_payment_service
from tests.support.processes import ServiceProcess, free_port


@pytest.fixture(scope="module")
async def services(pg_databases):
    from tests.support.servers import fresh_redis_url

    order_url = await migrated_database(pg_databases)
    settings = order_settings(order_url, await fresh_redis_url())
    order = ServiceProcess("order_service.main:app", order_env(settings), "order-limits")
    payment_url = await pg_databases.create("payment_limits")
    await asyncio.to_thread(migrate, payment_url)
    closed = f"http://127.0.0.1:{free_port()}"
    await asyncio.to_thread(order.start)
    payment = await asyncio.to_thread(
        start_payment_service, payment_url, f"{closed}/gateway.do", closed, "payment-limits"
    )
    yield {"order": order, "payment": payment}
    await asyncio.to_thread(order.stop)
    await asyncio.to_thread(payment.stop)


ROUTES = [
    ("order", "/api/auth/register"),
    ("order", "/internal/orders/X1/payment-events"),
    ("payment", "/internal/payments"),
]


def _assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def _declared_post(port: int, path: str, length: int) -> bytes:
    """Headers declaring a `length`-byte body and nothing of the body: the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        return _rest_of_answer(sock, b"")


@pytest.mark.parametrize(("service", "path"), ROUTES)
async def test_a_declared_body_over_1_mib_is_refused_unread(services, service, path):
    """100 MB declared, none sent: the answer comes at once (it used to wait for the body)."""
    port = services[service].port
    answer = await asyncio.to_thread(_declared_post, port, path, 100 * 1024 * 1024)
    assert b" 413 " in answer.split(b"\r\n", 1)[0], answer[:300]
    assert b"payload_too_large" in answer


def _rest_of_answer(sock: socket.socket, answer: bytes) -> bytes:
    """Read until one whole response (headers and Content-Length bytes) or the socket closes."""
    while True:
        head, _, body = answer.partition(b"\r\n\r\n")
        if _:
            lengths = [
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if lengths and len(body) >= lengths[0]:
                return answer
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return answer
        if not data:
            return answer
        answer += data


def _chunked_post(port: int, path: str, chunks: int, chunk: bytes) -> tuple[bytes, int]:
    """POST a chunked body (no Content-Length) on a raw socket; the answer and the bytes sent
    before it came. Stops sending as soon as the server answers."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sock.setblocking(False)
        answer = b""
        for _ in range(chunks):
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                time.sleep(0.005)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(20)
        answer = _rest_of_answer(sock, answer)
    return answer, sent


async def test_a_streamed_body_is_cut_off_past_1_mib(services):
    """Chunked, so no length is declared: counted as it comes, refused at the first MiB."""
    port, path = services["order"].port, "/api/auth/register"
    answer, sent = await asyncio.to_thread(_chunked_post, port, path, 400, b"x" * 16384)
    head = answer.split(b"\r\n", 1)[0]
    assert b" 413 " in head, answer[:300]
    assert b"payload_too_large" in answer
    assert sent < 400 * 16384, "the whole 6 MiB went in before the answer"


@pytest.mark.parametrize("service", ["order", "payment"])
async def test_oversized_headers_answer_431(services, service):
    async with httpx.AsyncClient(base_url=services[service].url, timeout=30) as http:
        response = await http.get("/healthz", headers={"Authorization": "Bearer " + "a" * 40_000})
        assert (await http.get("/healthz", headers={"X-Small": "a" * 1000})).status_code == 200
    _assert_problem(response, 431, "headers_too_large")


@pytest.mark.parametrize(("service", "path"), [ROUTES[1], ROUTES[2]])
@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2", json.dumps({"order_id": 5}).encode(), b"\xff\xfe"]
)
async def test_internal_routes_answer_401_to_any_unsigned_body(services, service, path, body):
    async with httpx.AsyncClient(base_url=services[service].url, timeout=30) as http:
        response = await http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unsigned_request"


async def test_internal_routes_answer_401_without_reading_an_unsigned_body(services):
    """The answer comes while the client is still sending: the body was never read."""
    answer, sent = await asyncio.to_thread(
        _chunked_post, services["payment"].port, "/internal/payments", 200, b"x" * 16384
    )
    assert b" 401 " in answer.split(b"\r\n", 1)[0], answer[:300]
    assert sent < 200 * 16384
