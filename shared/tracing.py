"""OpenTelemetry traces for every service: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, off and costless when not.

Only the standard OTel environment variables are read (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_*`, `OTEL_BSP_*`, `OTEL_TRACES_SAMPLER`,
`OTEL_SDK_DISABLED`, ...). Spans go over OTLP/HTTP (protobuf) through a batch processor.

When tracing is off nothing here runs on a request: no tracer provider is installed, no
instrumentation wraps FastAPI, SQLAlchemy, Redis or httpx, the log processor that adds
`trace_id` is not installed, and the outbox stores no trace context.

When on:
- FastAPI: a server span per request (the W3C `traceparent` of the caller is its parent);
- httpx: a client span per call, and `traceparent` injected into every outgoing request
  (internal calls and Alipay's gateway);
- SQLAlchemy: a span per statement, on the engines passed to `instrument_engine`;
- Redis: a span per command (redis-py, asyncio included);
- background rounds (`shared.background`) run with instrumentation suppressed, so an idle
  poll makes no trace; work that belongs to a request's trace (the outbox relay delivering an
  event) re-enters that trace with `continued_from`;
- the checkout queue serves a batch of orders in one span (`checkout batch`) linked to the
  request span of each order in it (`linked_span`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

# Probes and scrapes would be most of the spans and tell nothing.
EXCLUDED_URLS = "/healthz,/readyz,/metrics"

_enabled = False
_OFF: AbstractContextManager[None] = nullcontext()  # what the context managers are when off


def configured() -> bool:
    """True when the environment asks for traces (the standard OTel variables)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def enabled() -> bool:
    """True once `setup_tracing` has installed a tracer provider in this process."""
    return _enabled


def setup_tracing(service_name: str) -> bool:
    """Install the tracer provider and the library instrumentations, once per process, when
    the environment asks for traces. `service_name` is the default of `OTEL_SERVICE_NAME`."""
    global _enabled
    if _enabled or not configured():
        return _enabled
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over our default.
    resource = Resource.create({SERVICE_NAME: service_name})
    if os.environ.get("OTEL_SERVICE_NAME"):
        resource = resource.merge(Resource({SERVICE_NAME: os.environ["OTEL_SERVICE_NAME"]}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    RedisInstrumentor().instrument()
    _enabled = True
    return True


def instrument_app(app: FastAPI, service_name: str) -> None:
    """A server span per request of `app` (W3C trace context read from the caller)."""
    if not setup_tracing(service_name):
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"]
    )


def instrument_engine(engine: AsyncEngine) -> None:
    """A span per SQL statement on `engine` (PostgreSQL through asyncpg, or SQLite)."""
    if not _enabled:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # The instrumentation declares SQLAlchemy < 2.1 and would do nothing on 2.1; it hooks the
    # engine's cursor events, which 2.1 keeps (tests/e2e/test_traces.py sees the statements).
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, enable_commenter=False, skip_dep_check=True
    )


def shutdown_tracing() -> None:
    """Export what is still buffered (a stopping process must not lose its last spans)."""
    if not _enabled:
        return
    from opentelemetry import trace

    provider: Any = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush(timeout_millis=5000)


def current_trace_context() -> str | None:
    """The W3C `traceparent` of the current span, to store beside work done later (the
    outbox); None when tracing is off or no span is recording."""
    if not _enabled:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def continued_from(
    traceparent: str | None, span_name: str, **attributes: Any
) -> AbstractContextManager[None]:
    """Run the block in a span whose parent is the span that stored `traceparent`, with
    instrumentation back on (background rounds suppress it). Does nothing when tracing is
    off."""
    if not _enabled:
        return _OFF
    return _continued_from(traceparent, span_name, **attributes)


@contextmanager
def _continued_from(traceparent: str | None, span_name: str, **attributes: Any) -> Iterator[None]:
    from opentelemetry import context, trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    # A fresh context: not the background round's, which suppresses instrumentation.
    parent = TraceContextTextMapPropagator().extract(
        {"traceparent": traceparent} if traceparent else {}, context=context.Context()
    )
    token = context.attach(parent)
    try:
        tracer = trace.get_tracer("shared.tracing")
        with tracer.start_as_current_span(
            span_name, kind=trace.SpanKind.CONSUMER, attributes=attributes
        ):
            yield
    finally:
        context.detach(token)


def current_span_context() -> Any:
    """The current span's context, to link work done later on another task's behalf (the
    checkout queue); None when tracing is off."""
    if not _enabled:
        return None
    from opentelemetry import trace

    return trace.get_current_span().get_span_context()


def span_context_from(traceparent: str | None) -> Any:
    """The span context a stored W3C `traceparent` names, to link to; None when there is none
    or tracing is off."""
    if not _enabled or not traceparent:
        return None
    from opentelemetry import context, trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": traceparent}
    extracted = TraceContextTextMapPropagator().extract(carrier, context=context.Context())
    return trace.get_current_span(extracted).get_span_context()


def linked_span(
    span_name: str, links: Iterable[Any], **attributes: Any
) -> AbstractContextManager[None]:
    """Run the block in a new root span linked to each of `links` (span contexts from
    `current_span_context`): one batch of work done for many requests. Nothing when off."""
    if not _enabled:
        return _OFF
    return _linked_span(span_name, links, **attributes)


@contextmanager
def _linked_span(span_name: str, links: Iterable[Any], **attributes: Any) -> Iterator[None]:
    from opentelemetry import context, trace

    token = context.attach(context.Context())  # not the context of whoever started the task
    try:
        tracer = trace.get_tracer("shared.tracing")
        valid = [trace.Link(link) for link in links if link is not None and link.is_valid]
        with tracer.start_as_current_span(span_name, links=valid, attributes=attributes):
            yield
    finally:
        context.detach(token)


def untraced() -> AbstractContextManager[None]:
    """Suppress instrumentation in the block (a background round that may find nothing to
    do). Does nothing when tracing is off."""
    if not _enabled:
        return _OFF
    return _untraced()


@contextmanager
def _untraced() -> Iterator[None]:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        yield


def add_trace_ids(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: `trace_id` and `span_id` (hex) of the current span, if any. Only
    installed when tracing is on (shared.logging)."""
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict
