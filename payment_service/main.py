"""The payment service app: create_app() and a module-level `app` for uvicorn.

Settings and keys are read when the app starts (lifespan), so importing this module never
fails; a key that does not load stops the start-up with a message naming the variable.
"""

from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from payment_service.alipay import AlipayClient, AlipayConfig
from payment_service.api import alipay, health, internal
from payment_service.api import errors as domain_errors
from payment_service.services.bill_job import CHECK_SECONDS, DailyBill, parse_at
from payment_service.services.reconcile import reconcile_once
from payment_service.services.relay import relay_once
from payment_service.services.runtime import Runtime
from payment_service.settings import PaymentSettings
from payment_service.storage.nonces import DatabaseNonceStore
from shared.background import start_periodic, stop_tasks
from shared.db import create_engine, session_factory
from shared.docs import service_app
from shared.gc_tuning import tune_garbage_collector
from shared.http import internal_client
from shared.logging import configure_logging
from shared.metrics import track_pool, untrack_pool
from shared.service_auth import MAX_SKEW_SECONDS
from shared.service_stack import install_service_stack
from shared.tracing import instrument_engine, shutdown_tracing

log = structlog.get_logger(__name__)


def alipay_client(settings: PaymentSettings) -> AlipayClient:
    return AlipayClient(
        AlipayConfig(
            app_id=settings.alipay_app_id,
            app_private_key=settings.alipay_app_private_key,
            alipay_public_key=settings.alipay_public_key,
            gateway_url=settings.alipay_gateway_url,
            sign_type=settings.alipay_sign_type,
            timeout_seconds=settings.alipay_timeout_seconds,
            app_cert=settings.alipay_app_cert,
            alipay_cert=settings.alipay_public_cert,
            root_cert=settings.alipay_root_cert,
        )
    )


def create_app(settings: PaymentSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        current = settings or PaymentSettings()
        configure_logging("payment", json=current.log_json)
        client = alipay_client(current)  # fails here, at start-up, on a bad key
        engine = create_engine(current.database_url, **current.engine_options())
        instrument_engine(engine)
        track_pool("payment", engine)
        rt = Runtime(
            settings=current,
            engine=engine,
            sessions=session_factory(engine),
            alipay=client,
            order_service=internal_client(
                current.order_service_url,
                current.service_auth_secret,
                current.order_service_timeout_seconds,
            ),
        )
        app.state.runtime = rt
        nonces = app.state.nonces = DatabaseNonceStore(rt.sessions)
        log.info(
            "payment_started",
            gateway=current.alipay_gateway_url,
            sign_type=current.alipay_sign_type,
            mode="certificate" if client.certs else "key",
        )
        tasks = [
            start_periodic("payment-relay", current.relay_interval_seconds, lambda: relay_once(rt)),
            start_periodic(
                "payment-reconcile", current.reconcile_interval_seconds, lambda: reconcile_once(rt)
            ),
            start_periodic("payment-nonce-purge", MAX_SKEW_SECONDS, nonces.purge),
        ]
        bill_at = parse_at(current.bill_reconcile_at)
        if bill_at is not None:
            daily = DailyBill(rt, bill_at)
            tasks.append(start_periodic("payment-bill", CHECK_SECONDS, daily.run_if_due))
        tune_garbage_collector()
        try:
            yield
        finally:
            await stop_tasks(tasks)
            await rt.order_service.aclose()
            await client.aclose()
            untrack_pool("payment")
            await engine.dispose()
            log.info("payment_stopped")
            shutdown_tracing()

    app = service_app(title="Payment service", version="0.1.0", lifespan=lifespan)
    # (Of RequestLimits' cap, the notify route reads at most its own, smaller one (64 KiB) and
    # answers `fail` past it.)
    install_service_stack(
        app,
        "payment-service",
        lambda scope: scope["app"].state.runtime.settings,
        lambda scope: scope["app"].state.nonces,
    )
    domain_errors.install(app)
    app.include_router(health.router)
    app.include_router(internal.router)
    app.include_router(alipay.router)
    return app


app = create_app()
