"""What the order and payment services put around their routes, said once: the middleware,
tracing, the problem handlers and `/metrics`."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from shared.errors import install_problem_handlers
from shared.limits import RequestLimits
from shared.logging import RequestIdMiddleware
from shared.metrics import HttpMetricsMiddleware, MetricsEndpoint
from shared.nonces import NonceStore
from shared.security_headers import SecurityHeaders
from shared.service_auth import InternalAuthMiddleware
from shared.tracing import instrument_app

SettingsOf = Callable[[Any], Any]


def install_service_stack(
    app: FastAPI, service: str, settings_of: SettingsOf, nonces_of: Callable[[Any], NonceStore]
) -> None:
    """`settings_of(scope)`: the service's settings (`service_auth_secret`,
    `metrics_are_public()`), and `nonces_of(scope)`: the NonceStore its lifespan opened (where the
    nonces of accepted internal calls are remembered), read per request from the app the scope
    belongs to."""
    # Outermost last: metrics, security headers, request id, size limits, internal signatures,
    # then the app.
    app.add_middleware(
        InternalAuthMiddleware,
        get_secret=lambda scope: settings_of(scope).service_auth_secret,
        get_nonces=nonces_of,
    )
    app.add_middleware(RequestLimits)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeaders)  # on every answer, the refusals inside it included
    app.add_middleware(HttpMetricsMiddleware)  # added last: outermost, it times everything
    instrument_app(app, service)
    install_problem_handlers(app)
    app.mount("/metrics", MetricsEndpoint(lambda scope: settings_of(scope).metrics_are_public()))
