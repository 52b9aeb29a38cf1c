"""Signed internal calls between our services (HMAC-SHA256 with SERVICE_AUTH_SECRET).

The signature covers the method, the path with its query, a Unix timestamp and the SHA-256 of
the body, so a captured request cannot be replayed against another route, with another body,
or minutes later. Written by hand because it is twenty lines of the standard library; the
libraries that do this (HTTP message signatures) bring key management we do not need.
"""

import hashlib
import hmac
import time
from collections.abc import Generator

import httpx
from fastapi import Request

from shared.errors import Problem

TIMESTAMP_HEADER = "X-Service-Timestamp"
SIGNATURE_HEADER = "X-Service-Signature"
MAX_SKEW_SECONDS = 300


def signature(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    message = "\n".join(
        [method.upper(), path, timestamp, hashlib.sha256(body).hexdigest()]
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, method: str, path: str, body: bytes, now: float | None = None
) -> dict:
    timestamp = str(int(time.time() if now is None else now))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, method, path, timestamp, body),
    }


def check_signature(
    secret: str, method: str, path: str, body: bytes, headers, now: float | None = None
) -> None:
    """Raise Problem(401) unless the headers carry a fresh, valid signature."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER)
    if not timestamp or not given:
        raise Problem(401, "unsigned_request", "This route needs a signed internal request.")
    try:
        skew = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        raise Problem(401, "bad_signature", "The request timestamp is not a number.") from None
    if skew > MAX_SKEW_SECONDS:
        raise Problem(
            401, "stale_signature", "The request timestamp is outside the allowed window."
        )
    expected = signature(secret, method, path, timestamp, body)
    if not hmac.compare_digest(expected, given):
        raise Problem(401, "bad_signature", "The request signature does not match.")


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
