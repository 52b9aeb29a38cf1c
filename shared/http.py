"""The one httpx client a service uses to call another of our services."""

import httpx

from shared.logging import propagate_request_id
from shared.service_auth import ServiceAuth


def internal_client(
    base_url: str,
    secret: str,
    timeout: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Signs every request with SERVICE_AUTH_SECRET and passes the request id on."""
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        auth=ServiceAuth(secret),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
        event_hooks={"request": [propagate_request_id]},
    )


def problem_code(response: httpx.Response) -> str | None:
    """The `code` of a problem+json answer from another of our services (None if it has none)."""
    try:
        return response.json().get("code")
    except ValueError:
        return None
