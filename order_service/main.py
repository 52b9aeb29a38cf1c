"""The order service app: `uvicorn order_service.main:app`.

`create_app()` reads no settings until the lifespan starts, so importing this module is safe
in any environment; the lifespan opens the database engine, the cart store, the rate counter
(and beside it the nonce store of signed internal calls) and the payment client, starts the
expiry sweeper, and closes all of it (sweeper cancelled and awaited) on shutdown.
"""

import math
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from order_service.api import addresses, admin, auth, cart, catalog, goods, health, internal, orders
from order_service.api import errors as domain_errors
from order_service.api.media import MediaMount, media_files
from order_service.clients.payment import PaymentClient
from order_service.services.checkout import Checkout, CheckoutHooks
from order_service.services.passwords import PasswordHashing
from order_service.services.sweeper import sweep
from order_service.services.throttle import LoginThrottle
from order_service.services.users import Authenticator
from order_service.settings import OrderSettings
from order_service.storage.cart import open_cart_store
from shared.background import start_periodic, stop_tasks
from shared.db import create_engine, session_factory
from shared.docs import service_app
from shared.gc_tuning import tune_garbage_collector
from shared.logging import configure_logging
from shared.metrics import track_pool, untrack_pool
from shared.nonces import nonce_store_beside
from shared.ratelimit import open_rate_counter
from shared.service_stack import install_service_stack
from shared.tracing import instrument_engine, shutdown_tracing

# The storefront (web/ in the repo) ships as the package order_service.web: see pyproject.toml.
WEB_DIR = Path(str(files("order_service.web")))


def _lease_seconds(settings: OrderSettings) -> float:
    # Long enough for a round: its batch in waves of `sweep_concurrency`, each wave one close
    # call (connect + read) and the cancel after it.
    waves = math.ceil(settings.sweep_batch_size / settings.sweep_concurrency)
    return (settings.payment_service_timeout_seconds * 3 + 5) * waves


def create_app(settings: OrderSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        resolved = settings or OrderSettings()
        configure_logging("order", json=resolved.log_json)
        engine = create_engine(resolved.database_url, **resolved.engine_options())
        instrument_engine(engine)
        track_pool("order", engine)
        app.state.settings = resolved
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.cart = open_cart_store(
            resolved.redis_url,
            resolved.redis_timeout_seconds,
            resolved.redis_key_prefix,
            resolved.cart_idle_days * 86400,
        )
        app.state.media_files = media_files(resolved.media_dir)
        app.state.authenticator = Authenticator(app.state.sessions, resolved.jwt_secret)
        app.state.rate_counter = open_rate_counter(
            resolved.redis_url, resolved.redis_timeout_seconds, resolved.redis_key_prefix
        )
        app.state.nonces = nonce_store_beside(app.state.rate_counter, resolved.redis_key_prefix)
        app.state.login_throttle = LoginThrottle(
            app.state.rate_counter, resolved.login_failure_limit, resolved.client_rate_limit
        )
        app.state.password_hashing = PasswordHashing(resolved.password_hash_workers)
        app.state.checkout = Checkout(
            engine,
            app.state.cart,
            freight=resolved.freight,
            pay_timeout_seconds=resolved.pay_timeout_seconds,
            hooks=app.state.checkout_hooks,
            max_unpaid_orders=resolved.max_unpaid_orders,
        )
        app.state.payments = PaymentClient(
            resolved.payment_service_url,
            resolved.service_auth_secret,
            resolved.payment_service_timeout_seconds,
        )
        lease_seconds = _lease_seconds(resolved)
        sweeper = start_periodic(
            "order-expiry-sweeper",
            resolved.sweep_interval_seconds,
            lambda: sweep(
                app.state.sessions,
                app.state.payments,
                lease_seconds,
                resolved.sweep_batch_size,
                resolved.sweep_concurrency,
            ),
        )
        tune_garbage_collector()
        try:
            yield
        finally:
            await stop_tasks([sweeper])
            await app.state.checkout.aclose()
            await app.state.payments.aclose()
            await app.state.cart.close()
            await app.state.rate_counter.close()
            app.state.password_hashing.close()
            untrack_pool("order")
            await engine.dispose()
            shutdown_tracing()

    app = service_app(title="Order service", version="0.1.0", lifespan=lifespan)
    app.state.checkout_hooks = CheckoutHooks()
    install_service_stack(
        app,
        "order-service",
        lambda scope: scope["app"].state.settings,
        lambda scope: scope["app"].state.nonces,
    )
    domain_errors.install(app)
    for module in (health, auth, catalog, goods, addresses, cart, orders, admin, internal):
        app.include_router(module.router)
    app.mount("/media", MediaMount(), name="media")
    if WEB_DIR.is_dir():
        # Last, so every API route above wins over a static file of the same path.
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app


app = create_app()
