"""Bounds on what a request may bring, checked before the app reads it (pure ASGI middleware).

- headers: more than `max_header_bytes` in all (names and values) → 431 `headers_too_large`;
- body: a `Content-Length` over the route's cap → 413 `payload_too_large` at once, unread; a body
  without one (chunked) is counted as it streams in, and the first chunk past the cap stops it
  with the same 413: no body is ever held whole before its size is known.

The cap is `max_body_bytes` (the contract's 1 MiB), or another for a path prefix
(`path_limits`). A route may read less still: the Alipay notify reads at most 64 KiB and answers
`fail` past it, as Alipay expects an answer of its protocol.

The server bounds headers first (uvicorn's h11 `--h11-max-incomplete-event-size`, or the proxy
in front); this answers the contract's 431 for what gets through.
"""

from collections.abc import Mapping

from starlette.exceptions import HTTPException

from shared.errors import problem_response

MIB = 1024 * 1024
MAX_BODY_BYTES = MIB
MAX_HEADER_BYTES = 16 * 1024


class PayloadTooLarge(HTTPException):
    """Raised from `receive`; an HTTPException so that FastAPI's body reading passes it on (it
    turns other errors there into 400) and the problem handlers answer 413 `payload_too_large`."""

    def __init__(self, limit: int):
        super().__init__(
            413,
            f"The request body is larger than {limit} bytes.",
            headers={"Connection": "close"},
        )


class RequestLimits:
    def __init__(
        self,
        app,
        max_body_bytes: int = MAX_BODY_BYTES,
        path_limits: Mapping[str, int] | None = None,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path_limits = dict(path_limits or {})
        self.max_header_bytes = max_header_bytes

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.path_limits.items():
            if path.startswith(prefix):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            response = problem_response(
                431,
                "headers_too_large",
                f"The request headers are larger than {self.max_header_bytes} bytes.",
            )
            return await response(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _refuse(PayloadTooLarge(limit), scope, receive, send)

        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge as exc:  # raised where nothing turned it into an answer
            if started:
                raise
            await _refuse(exc, scope, receive, send)


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(exc: PayloadTooLarge, scope, receive, send) -> None:
    # Connection: close, so the server does not read the rest of the body to reuse the connection.
    response = problem_response(413, "payload_too_large", exc.detail, headers=exc.headers)
    await response(scope, receive, send)
