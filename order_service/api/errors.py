"""Domain errors become problem+json answers with the error's code."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from order_service.domain.errors import (
    Conflict,
    DomainError,
    EmptyCart,
    Forbidden,
    IdempotencyKeyReused,
    InvalidCredentials,
    NotFound,
    PaymentUnavailable,
    Unprocessable,
    WeakPassword,
)
from shared.errors import problem_response

_STATUS = [
    (NotFound, 404),
    (Conflict, 409),
    (EmptyCart, 400),
    (IdempotencyKeyReused, 422),
    (Unprocessable, 422),
    (Forbidden, 403),
    (InvalidCredentials, 401),
    (PaymentUnavailable, 503),
    (WeakPassword, 422),
]


def status_for(error: DomainError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


async def _on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
    return problem_response(status_for(exc), exc.code, exc.detail, **exc.extra)


def install_domain_errors(app: FastAPI) -> None:
    app.exception_handler(DomainError)(_on_domain_error)  # see shared.errors: why not add_…
