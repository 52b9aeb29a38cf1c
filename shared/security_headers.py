"""Security headers on every answer of a service, HTML and API alike (pure ASGI middleware).

- `Content-Security-Policy`: the service's policy (the storefront's by default: its own scripts
  and styles only, no inline code, no plugins, no framing, forms posted to itself); the API
  docs pages (`/docs`, `/redoc`) get a looser one, since Swagger UI starts from an inline script
  and ReDoc injects styles and runs a worker from a blob;
- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` (for browsers older than
  `frame-ancestors`), `Referrer-Policy: strict-origin-when-cross-origin` (another site learns
  our origin at most, never a path or query);
- `Strict-Transport-Security` only when the request came over https: the scheme uvicorn reports,
  which is `X-Forwarded-Proto`'s when the proxy is trusted (`FORWARDED_ALLOW_IPS`).

A header the app set itself is kept.
"""

# Goods pictures may be any http(s) URL a catalog names (order_service/services/catalog.py).
STOREFRONT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000"


class SecurityHeaders:
    def __init__(self, app, policy: str = STOREFRONT_POLICY):
        self.app = app
        self.common = _encoded(
            {
                "x-content-type-options": "nosniff",
                "x-frame-options": "DENY",
                "referrer-policy": "strict-origin-when-cross-origin",
            }
        )
        self.policy = _encoded({"content-security-policy": policy})
        self.docs_policy = _encoded({"content-security-policy": DOCS_POLICY})
        self.hsts = _encoded({"strict-transport-security": HSTS})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = self.common + (
            self.docs_policy if scope["path"].startswith(DOCS_PATHS) else self.policy
        )
        if scope.get("scheme") == "https":
            extra = extra + self.hsts

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in headers.items()]
