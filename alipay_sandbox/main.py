"""The Alipay gateway emulator: `uvicorn alipay_sandbox.main:app` (port 8002 by convention)."""

import asyncio
import contextlib
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
from shared.errors import install_problem_handlers
from shared.logging import RequestIdMiddleware, configure_logging

log = structlog.get_logger(__name__)


async def _expire_trades(sandbox: Sandbox, interval: float) -> None:
    """Closes unpaid trades when their time limit passes, even when nobody asks about them."""
    while True:
        await asyncio.sleep(interval)
        try:
            await sandbox.expire_due()
        except Exception:  # keep sweeping; the next round retries
            log.exception("sandbox.expiry_failed")


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        current = settings or SandboxSettings()
        configure_logging("alipay_sandbox", json=current.log_json)
        private_key, app_public_key = current.keys
        app.state.apps = {current.app_id: App(current.app_id, app_public_key)}
        async with httpx.AsyncClient(timeout=current.notify_timeout_seconds) as client:
            notifier = Notifier(client, private_key, current.notify_scale)
            app.state.sandbox = Sandbox(
                private_key, current.seller_id, notifier, FaultBook(), current.public_url
            )
            sweeper = asyncio.create_task(
                _expire_trades(app.state.sandbox, current.expiry_interval_seconds)
            )
            log.info("sandbox.started", app_id=current.app_id, public_url=current.public_url)
            try:
                yield
            finally:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
                await notifier.stop()
                log.info("sandbox.stopped")

    app = FastAPI(
        title="Alipay gateway emulator",
        description="Alipay's openapi gateway, offline: cashier, signed answers, notifies, faults.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app)
    app.include_router(gateway.router)
    app.include_router(api.router)
    return app


app = create_app()
