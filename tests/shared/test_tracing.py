"""Tracing is off and costless unless the standard OTel variables ask for it.

Each check runs in a fresh interpreter (instrumentation is process-wide), importing the three
apps as uvicorn does. Off: no tracer provider, no middleware, httpx, Redis and SQLAlchemy
untouched. The same probe with OTEL_EXPORTER_OTLP_ENDPOINT set sees all of it installed, so
the probe can tell the two apart.
"""

import json
import os
import subprocess
import sys

from tests.support.processes import ROOT

PROBE = r"""
import asyncio, json
import httpx, redis.asyncio
from opentelemetry import trace
from order_service.main import app as order_app
from payment_service.main import app as payment_app
from alipay_sandbox.main import app as sandbox_app
from shared import tracing
from shared.db import create_engine

import tempfile
engine = create_engine(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/probe.db")
tracing.instrument_engine(engine)

def wrapped(function):
    return hasattr(function, "__wrapped__")

print(json.dumps({
    "provider": type(trace.get_tracer_provider()).__name__,
    "otel_middleware": any(
        "OpenTelemetry" in m.cls.__name__
        for a in (order_app, payment_app, sandbox_app) for m in a.user_middleware
    ),
    "apps": [
        getattr(a, "_is_instrumented_by_opentelemetry", False)
        for a in (order_app, payment_app, sandbox_app)
    ],
    "httpx": wrapped(httpx.AsyncHTTPTransport.handle_async_request),
    "redis": wrapped(redis.asyncio.Redis.execute_command),
    "sqlalchemy": any(
        "opentelemetry" in (getattr(fn, "__module__", None) or type(fn).__module__)
        for fn in engine.sync_engine.dispatch.before_cursor_execute
    ),
    "outbox_context": tracing.current_trace_context(),
}))
"""


def probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_an_otlp_endpoint_nothing_is_installed():
    seen = probe()
    assert seen == {
        "provider": "ProxyTracerProvider",
        "otel_middleware": False,
        "apps": [False, False, False],
        "httpx": False,
        "redis": False,
        "sqlalchemy": False,
        "outbox_context": None,
    }


def test_the_sdk_disabled_variable_wins_over_an_endpoint():
    seen = probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_SDK_DISABLED="true")
    assert seen["provider"] == "ProxyTracerProvider"
    assert not (seen["httpx"] or seen["redis"] or seen["sqlalchemy"])


def test_with_an_otlp_endpoint_every_library_is_instrumented():
    seen = probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert seen["provider"] == "TracerProvider"
    assert seen["apps"] == [True, True, True]
    assert seen["httpx"] and seen["redis"] and seen["sqlalchemy"]
