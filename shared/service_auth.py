"""Signed internal calls between our services (HMAC-SHA256 with SERVICE_AUTH_SECRET).

The signature covers the method, the path with its query, a Unix timestamp, a random nonce and
the SHA-256 of the body, so a captured request cannot be replayed against another route, with
another body, or later than MAX_SKEW_SECONDS; within that window InternalAuthMiddleware
remembers each nonce it accepted and refuses it again (401 `replayed_request`, issue 10 item 12),
in a store every process of the service shares (`shared.nonces`: the order service's Redis, the
payment service's database), so a replay is refused whichever worker or replica it reaches; a
store that does not answer makes the call 503 `dependency_unavailable`. Written by hand because
it is twenty lines of the standard library; the libraries that do this (HTTP message
signatures) bring key management we do not need.
"""

import hashlib
import hmac
import secrets
import time
from collections.abc import Generator
from typing import TYPE_CHECKING

import httpx
import structlog
from fastapi import APIRouter, Depends, Request
from starlette.datastructures import Headers

from shared.errors import Problem, dependency_unavailable, is_dependency_failure, problem_response

if TYPE_CHECKING:
    from shared.nonces import NonceStore

log = structlog.get_logger(__name__)

TIMESTAMP_HEADER = "X-Service-Timestamp"
SIGNATURE_HEADER = "X-Service-Signature"
NONCE_HEADER = "X-Service-Nonce"
MAX_SKEW_SECONDS = 60
MAX_NONCE_CHARS = 64


def signature(
    secret: str, method: str, path: str, timestamp: str, body: bytes, nonce: str = ""
) -> str:
    message = "\n".join(
        [method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, method: str, path: str, body: bytes, now: float | None = None
) -> dict:
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, method, path, timestamp, body, nonce),
    }


def check_signature(
    secret: str, method: str, path: str, body: bytes, headers, now: float | None = None
) -> None:
    """Raise Problem(401) unless the headers carry a fresh, valid signature."""
    check_signature_headers(headers, now)
    expected = signature(
        secret, method, path, headers[TIMESTAMP_HEADER], body, headers[NONCE_HEADER]
    )
    if not hmac.compare_digest(expected, headers[SIGNATURE_HEADER]):
        raise Problem(401, "bad_signature", "The request signature does not match.")


def check_signature_headers(headers, now: float | None = None) -> None:
    """What can be checked without the body: both headers there, the timestamp fresh."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER)
    nonce = headers.get(NONCE_HEADER)
    if not timestamp or not given or not nonce:
        raise Problem(401, "unsigned_request", "This route needs a signed internal request.")
    if len(nonce) > MAX_NONCE_CHARS:
        raise Problem(401, "bad_signature", "The request nonce is too long.")
    try:
        skew = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        raise Problem(401, "bad_signature", "The request timestamp is not a number.") from None
    if skew > MAX_SKEW_SECONDS:
        raise Problem(
            401, "stale_signature", "The request timestamp is outside the allowed window."
        )


def _path_with_query(url: httpx.URL | str) -> str:
    url = httpx.URL(str(url))
    query = url.query.decode() if isinstance(url.query, bytes) else url.query
    return url.path + (f"?{query}" if query else "")


class ServiceAuth(httpx.Auth):
    """httpx auth that signs each outgoing internal request."""

    requires_request_body = True

    def __init__(self, secret: str):
        self.secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        path = _path_with_query(request.url)
        request.headers.update(signed_headers(self.secret, request.method, path, request.content))
        yield request


def require_service_auth(get_secret):
    """FastAPI dependency factory: `Depends(require_service_auth(lambda request: secret))`."""

    async def dependency(request: Request) -> None:
        body = await request.body()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        check_signature(get_secret(request), request.method, path, body, request.headers)

    return dependency


def internal_router(get_secret) -> APIRouter:
    """The router of a service's `/internal/` routes: every one needs a valid signature, and none
    is in the public /openapi.json (between our services only; docs/architecture.md lists them).
    """
    return APIRouter(
        prefix="/internal",
        tags=["internal"],
        include_in_schema=False,
        dependencies=[Depends(require_service_auth(get_secret))],
    )


class InternalAuthMiddleware:
    """Pure ASGI: every request under `prefix` is refused with 401 unless signed, before the app
    reads or parses its body (the contract). Unsigned or stale: 401 without reading the body at
    all; signed: the body (already bounded by `shared.limits`) is read, its digest checked, and
    handed on to the app as it came. A request signed and fresh is then accepted once: its nonce
    goes to the service's NonceStore, and a nonce already there is a replay.
    """

    def __init__(self, app, get_secret, get_nonces, prefix: str = "/internal/"):
        self.app = app
        # (scope) -> the secret, and (scope) -> the NonceStore: read once the lifespan has run
        self.get_secret = get_secret
        self.get_nonces = get_nonces
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        method = scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        secret = self.get_secret(scope)
        try:
            # The headers alone first: nothing is read for a request that is not even signed.
            check_signature_headers(headers)
            chunks = []
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            check_signature(secret, method, path, body, headers)
            if not await self._first_use(scope, headers[NONCE_HEADER]):
                raise Problem(401, "replayed_request", "This signed request was already used.")
        except Problem as exc:
            response = problem_response(exc.status, exc.code, exc.detail, headers=exc.headers)
            return await response(scope, receive, send)
        except Exception as exc:
            # Outside the app's exception handlers here: answer a store that does not answer as
            # they would (503), never accept the call unchecked; anything else is a 500.
            if not is_dependency_failure(exc):
                raise
            log.warning("nonce_store_unavailable", path=scope["path"], error=repr(exc))
            return await dependency_unavailable()(scope, receive, send)

        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _first_use(self, scope, nonce: str) -> bool:
        nonces: NonceStore = self.get_nonces(scope)
        return await nonces.first_use(nonce)
