"""What the services show the public (issue 10, item 11), on real processes over real HTTP:
security headers on every answer, HTML and API, refusals included; HSTS only over https as a
trusted proxy reports it (FORWARDED_ALLOW_IPS); /metrics/ not public in production."""

import asyncio
import re
import socket
from html.parser import HTMLParser

import httpx
import pytest

from tests.e2e.conftest import start_stack
from tests.support.processes import ROOT, ServiceProcess, free_port
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

WEB = ROOT / "web"


@pytest.fixture(scope="module")
async def stack(pg_databases, tmp_path_factory):
    running = await start_stack(pg_databases, tmp_path_factory)
    yield running
    await running.close()


def answers(stack: Stack) -> list[tuple[str, str, dict]]:
    """(method, URL, request options) of every kind of answer: the storefront and the back
    office, API successes and errors, the emulator's cashier page, and refusals made by
    middleware before any route (431, 401 on /internal/; 413 below)."""
    order, payment, sandbox = stack.order.url, stack.payment.url, stack.sandbox.url
    return [
        ("GET", f"{order}/", {}),
        ("GET", f"{order}/admin/", {}),
        ("GET", f"{order}/js/app.js", {}),
        ("GET", f"{order}/api/skus", {}),
        ("GET", f"{order}/api/orders", {}),  # 401
        ("GET", f"{order}/no/such/page", {}),  # 404
        ("GET", f"{order}/api/skus", {"headers": {"X-Big": "x" * 20000}}),  # 431
        ("POST", f"{order}/internal/orders/1/payment-events", {"json": {}}),  # 401
        ("GET", f"{order}/openapi.json", {}),
        ("GET", f"{order}/healthz", {}),
        ("GET", f"{payment}/readyz", {}),
        ("GET", f"{payment}/alipay/return", {}),
        ("POST", f"{payment}/internal/payments", {"json": {}}),  # 401
        ("GET", f"{sandbox}/cashier/no-such-link", {}),  # its HTML error page
        ("GET", f"{sandbox}/healthz", {}),
    ]


def policy(response: httpx.Response) -> dict[str, str]:
    """Content-Security-Policy as {directive: sources}."""
    directives = (d.strip() for d in response.headers["content-security-policy"].split(";"))
    return {d.split(" ", 1)[0]: (d.split(" ", 1) + [""])[1] for d in directives if d}


async def test_every_answer_carries_the_security_headers(stack):
    """Before: none of these headers on any answer."""
    async with httpx.AsyncClient(timeout=15) as client:
        for method, url, options in answers(stack):
            response = await client.request(method, url, **options)
            where = f"{method} {url} → {response.status_code}"
            assert response.headers.get("x-content-type-options") == "nosniff", where
            assert response.headers.get("referrer-policy") == "strict-origin-when-cross-origin"
            assert response.headers.get("x-frame-options") == "DENY", where
            directives = policy(response)
            assert directives["frame-ancestors"] == "'none'", where
            assert "'unsafe-inline'" not in directives.get("script-src", ""), where
            assert "strict-transport-security" not in response.headers, where  # plain http


def head_of_a_refused_body(port: int) -> str:
    """The status line and headers of the answer to a body declared over 1 MiB (413 before
    it is read), on a raw socket: an HTTP client would still be sending it when refused."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(
            b"POST /api/auth/register HTTP/1.1\r\nHost: shop\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n"
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n\r\n", 1)[0].decode().lower()


def test_a_body_refused_before_it_is_read_carries_them_too(stack):
    head = head_of_a_refused_body(stack.order.port)
    assert head.startswith("http/1.1 413"), head
    assert "x-content-type-options: nosniff" in head
    assert "frame-ancestors 'none'" in head


async def test_the_storefront_runs_only_its_own_scripts_and_styles(stack):
    async with httpx.AsyncClient(timeout=15) as client:
        for page in ("/", "/admin/"):
            response = await client.get(stack.order.url + page)
            assert response.status_code == 200
            directives = policy(response)
            assert directives["script-src"] == "'self'"
            assert directives["style-src"] == "'self'"
            assert directives["object-src"] == "'none'"
            assert directives["form-action"] == "'self'"


class _Inline(HTMLParser):
    """What a strict CSP would block in a page: inline scripts and styles, handlers."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names or tag == "style":
            self.found.append(f"<{tag}> inline")
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name[:2] == "on"]


@pytest.mark.parametrize("page", ["index.html", "admin/index.html"])
def test_the_storefront_pages_hold_nothing_inline_the_policy_would_block(page):
    parser = _Inline()
    parser.feed((WEB / page).read_text())
    assert parser.found == []
    # …nor does its JavaScript build HTML from strings or code from text (the browser tests run
    # it under the policy)
    for script in WEB.rglob("*.js"):
        text = script.read_text()
        assert not re.search(r"innerHTML|insertAdjacentHTML|\beval\(|new Function", text), script


async def test_the_api_docs_get_their_own_looser_policy(stack):
    """Swagger UI starts from an inline script; the storefront's policy would leave it blank."""
    async with httpx.AsyncClient(timeout=15) as client:
        for base in (stack.order.url, stack.payment.url, stack.sandbox.url):
            docs = await client.get(f"{base}/docs")
            assert docs.status_code == 200
            assert "'unsafe-inline'" in policy(docs)["script-src"]
            assert policy(docs)["frame-ancestors"] == "'none'"


async def test_hsts_only_over_https_reported_by_a_trusted_proxy(stack, tmp_path):
    """uvicorn trusts X-Forwarded-Proto from FORWARDED_ALLOW_IPS (default: 127.0.0.1): the
    stack's services trust this test, an emulator told to trust another address does not."""
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    async with httpx.AsyncClient(timeout=15) as client:
        trusted = await client.get(f"{stack.order.url}/api/skus", headers=https)
        assert trusted.headers["strict-transport-security"].startswith("max-age=")
        port = free_port()
        untrusting = ServiceProcess(
            "alipay_sandbox.main:app",
            {**stack.env, "FORWARDED_ALLOW_IPS": "192.0.2.1"},
            "surface-untrusting-sandbox",
            port,
        )
        await asyncio.to_thread(untrusting.start)
        try:
            spoofed = await client.get(f"{untrusting.url}/healthz", headers=https)
        finally:
            await asyncio.to_thread(untrusting.stop)
        assert spoofed.status_code == 200
        assert "strict-transport-security" not in spoofed.headers


async def metrics_status(url: str) -> int:
    async with httpx.AsyncClient(timeout=15) as client:
        return (await client.get(f"{url}/metrics/")).status_code


async def test_metrics_are_not_public_in_production_unless_a_setting_says_so(stack):
    """Before: GET /metrics/ answered 200 to anyone, in production too."""
    assert await metrics_status(stack.order.url) == 200  # APP_ENV=test
    production = {**stack.env, "APP_ENV": "production", "ALIPAY_SANDBOX": "true"}
    for app, metrics_public, expected in (
        ("order_service.main:app", None, 404),
        ("payment_service.main:app", None, 404),
        ("order_service.main:app", "true", 200),
    ):
        env = dict(production)
        if metrics_public is not None:
            env["METRICS_PUBLIC"] = metrics_public
        process = ServiceProcess(app, env, "surface-production", free_port())
        await asyncio.to_thread(process.start)
        try:
            assert await metrics_status(process.url) == expected, (app, metrics_public)
        finally:
            await asyncio.to_thread(process.stop)
