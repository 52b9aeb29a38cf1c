"""Structured logs (structlog) that carry the request id of the request being served.

The id comes from the incoming `X-Request-ID` header or is made up; it is echoed on the response
and passed on to outgoing httpx calls by `propagate_request_id`. With tracing on
(shared/tracing.py), every line also carries the `trace_id` and `span_id` of the current span.
"""

import logging
import sys
import uuid
from contextvars import ContextVar
from typing import Any

import httpx
import structlog
from structlog.typing import Processor

from shared import tracing

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def _add_request_id(logger, method_name, event_dict):
    request_id = _request_id.get()
    if request_id and "request_id" not in event_dict:
        event_dict["request_id"] = request_id
    return event_dict


def configure_logging(service: str, json: bool = False, level: int = logging.INFO) -> None:
    """structlog for our own logs; with `json`, uvicorn's loggers (the access log included) go
    through the same processors and JSON renderer, so every line is one JSON object and an
    access line carries the request id of the request it reports."""

    def add_service(logger, method_name, event_dict):
        event_dict.setdefault("service", service)
        return event_dict

    common: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        *([tracing.add_trace_ids] if tracing.enabled() else []),
        add_service,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*common, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    if json:
        _render_uvicorn_logs_as_json(common)


def _render_uvicorn_logs_as_json(common: list[Processor]) -> None:
    """uvicorn configured its loggers (plain text) before the app started; give them our JSON.

    uvicorn writes the access line while the app sends the response start, inside
    RequestIdMiddleware's `send`, so the request id is still set for it.
    """
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*common, structlog.stdlib.add_logger_name, _access_fields],
        pass_foreign_args=True,  # the record's args, for _access_fields
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False


def _access_fields(logger, method_name, event_dict):
    """uvicorn.access logs `'%s - "%s %s HTTP/%s" %d'` with (client, method, path, http
    version, status): keep them as fields, not only inside the message."""
    args: tuple[Any, ...] = event_dict.pop("positional_args", None) or ()
    record = event_dict.get("_record")
    if record is not None and record.name == "uvicorn.access" and len(args) == 5:
        client, method, path, http_version, status = args
        event_dict.update(
            client=client, method=method, path=path, http_version=http_version, status=status
        )
    return event_dict


class RequestIdMiddleware:
    """Pure ASGI middleware (it does not buffer bodies, unlike BaseHTTPMiddleware)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode())
        request_id = incoming.decode("latin-1")[:128] if incoming else uuid.uuid4().hex
        token = _request_id.set(request_id)

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request_id.reset(token)


async def propagate_request_id(request: httpx.Request) -> None:
    """httpx event hook: pass the current request id on to the service being called."""
    request_id = _request_id.get()
    if request_id and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id
