"""RFC 9457 problem documents for every error a service answers.

Services raise domain errors (`shared.domain_errors`); each service's `api/errors.py` maps their
classes to statuses with `install_domain_errors`. `Problem(status, code, detail, **extra)` is for
the HTTP layer itself (routers, request signatures). `install_problem_handlers` turns problems,
FastAPI's validation errors, plain HTTP errors and unexpected exceptions into
`application/problem+json` with a stable `code`.
"""

import errno
import socket
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
import redis.exceptions
import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.domain_errors import DomainError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("errors")


class Problem(Exception):
    """An error meant for the client: an HTTP status, a machine word and a sentence."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict | None = None, **extra: Any
    ):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_HTTP_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc.status, exc.code, exc.detail, headers=exc.headers, **exc.extra)


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": _field_name(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")}
        for e in exc.errors()
    ]
    return problem_response(422, "validation_error", "The request is malformed.", errors=errors)


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, code, detail, headers=getattr(exc, "headers", None))


# Seconds a client is told to wait before trying again after a 503.
RETRY_AFTER_SECONDS = 5

# What a database or Redis that does not answer raises, wrapped or not: a refused or broken
# connection (OSError, asyncpg's and redis' connection errors), a bound that ran out (TimeoutError,
# SQLAlchemy's pool TimeoutError, a statement asyncpg cancelled), SQLAlchemy's wrappers of those.
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_dependency_failure(exc: BaseException) -> bool:
    """The database or Redis did not answer (as opposed to a bug or a refused statement)."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sqlalchemy.exc.StatementError) and isinstance(exc.orig, DEPENDENCY_ERRORS):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    return isinstance(exc, DEPENDENCY_ERRORS)


_NETWORK_ERRNOS = {
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EHOSTDOWN,
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
}


def dependency_unavailable() -> JSONResponse:
    return problem_response(
        503,
        "dependency_unavailable",
        "A service this one depends on (database or Redis) does not answer; try again shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _on_dependency_failure(request: Request, exc: Exception) -> JSONResponse:
    if not is_dependency_failure(exc):
        return await _on_unexpected(request, exc)
    log.warning("dependency_unavailable", path=request.url.path, error=repr(exc))
    return dependency_unavailable()


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path)
    return problem_response(500, "internal_error", "An unexpected error occurred.")


def install_problem_handlers(app: FastAPI) -> None:
    # The decorator form: Starlette types `add_exception_handler` as taking handlers of any
    # `Exception`, so handlers of one class only (as here) would not type-check there.
    app.exception_handler(Problem)(_on_problem)
    app.exception_handler(RequestValidationError)(_on_validation)
    app.exception_handler(StarletteHTTPException)(_on_http)
    for kind in (*DEPENDENCY_ERRORS, OSError, sqlalchemy.exc.DBAPIError):
        app.exception_handler(kind)(_on_dependency_failure)
    app.exception_handler(Exception)(_on_unexpected)
    _document_problems(app)


def install_domain_errors(app: FastAPI, statuses: Mapping[type[DomainError], int]) -> None:
    """Answer each domain error with a problem document: the status of its nearest class in
    `statuses` (400 when none is), its `code`, `detail` and extra fields."""

    def status_for(error: DomainError) -> int:
        for kind in type(error).__mro__:
            if kind in statuses:
                return statuses[kind]
        return 400

    async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(status_for(exc), exc.code, exc.detail, **exc.extra)

    app.exception_handler(DomainError)(on_domain_error)  # the decorator form: see above


PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem document with a stable machine-readable `code`.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "validation errors only: each bad field and what is wrong with it",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_PROBLEM_RESPONSE = {
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def problems(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: each error status it answers, described, as a problem document.

    `problems({404: "`sku_not_found`: no SKU has this id."})`; 422 (a malformed request) and
    `default` are added to every operation by `_document_problems`.
    """
    return {
        status: {"description": text, **_PROBLEM_RESPONSE} for status, text in described.items()
    }


# Answers of every route that needs a user's token (order service).
UNAUTHORIZED = {401: "`unauthorized`: no valid bearer token."}


def _document_problems(app: FastAPI) -> None:
    """Make /openapi.json tell what the handlers above do: every error is a problem document.

    FastAPI documents its own `{"detail": [...]}` shape for 422, which these handlers never send;
    a client generated from the schema would parse errors wrongly.
    """

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = PROBLEM_SCHEMA
            for path_item in schema.get("paths", {}).values():
                for operation in path_item.values():
                    _problem_responses(operation.setdefault("responses", {}))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def _problem_responses(responses: dict) -> None:
    if "422" in responses and PROBLEM_JSON not in responses["422"].get("content", {}):
        responses["422"] = {"description": "The request is malformed.", **_PROBLEM_RESPONSE}
    responses.setdefault("default", {"description": "An error.", **_PROBLEM_RESPONSE})
