"""The Alipay gateway emulator: `uvicorn alipay_sandbox.main:app` (port 8002 by convention)."""

from contextlib import asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI

from alipay_sandbox import api, gateway
from alipay_sandbox.faults import FaultBook
from alipay_sandbox.notifier import Notifier
from alipay_sandbox.protocol import App
from alipay_sandbox.service import Sandbox
from alipay_sandbox.settings import SandboxSettings
from shared.background import start_periodic, stop_tasks
from shared.docs import service_app
from shared.errors import install_problem_handlers
from shared.health import health_router
from shared.logging import RequestIdMiddleware, configure_logging
from shared.security_headers import SecurityHeaders
from shared.tracing import instrument_app, shutdown_tracing

log = structlog.get_logger(__name__)

# The cashier and error pages carry their style inline and nothing else. No form-action: a
# cashier form is answered with a redirect to the merchant's return URL, which Chrome would
# hold to it.
CASHIER_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
)


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        current = settings or SandboxSettings()
        configure_logging("alipay_sandbox", json=current.log_json)
        private_key, app_public_key = current.keys
        certs = current.certs
        app.state.apps = {
            current.app_id: App(
                current.app_id,
                app_public_key,
                certs.app_cert_sn if certs else None,
                certs.alipay_root_cert_sn if certs else None,
            )
        }
        app.state.alipay_cert_sn = certs.alipay_cert_sn if certs else None
        async with httpx.AsyncClient(timeout=current.notify_timeout_seconds) as client:
            notifier = Notifier(client, private_key, current.notify_scale)
            app.state.sandbox = Sandbox(
                private_key, current.seller_id, notifier, FaultBook(), current.public_url
            )
            # Closes unpaid trades when their time limit passes, even when nobody asks about them.
            sweeper = start_periodic(
                "sandbox-expiry", current.expiry_interval_seconds, app.state.sandbox.expire_due
            )
            log.info(
                "sandbox.started",
                app_id=current.app_id,
                public_url=current.public_url,
                mode="certificate" if certs else "key",
            )
            try:
                yield
            finally:
                await stop_tasks([sweeper])
                await notifier.stop()
                log.info("sandbox.stopped")
                shutdown_tracing()

    app = service_app(
        title="Alipay gateway emulator",
        description="Alipay's openapi gateway, offline: cashier, signed answers, notifies, faults.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeaders, policy=CASHIER_POLICY)
    instrument_app(app, "alipay-sandbox")
    install_problem_handlers(app)
    app.include_router(gateway.router)
    app.include_router(api.router)
    app.include_router(health_router())  # all state is in memory: ready once started
    return app


app = create_app()
