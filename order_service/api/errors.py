"""The HTTP status of each order-service domain error."""

from fastapi import FastAPI

from order_service.domain.errors import (
    Conflict,
    EmptyCart,
    Forbidden,
    IdempotencyKeyReused,
    InvalidCredentials,
    NotFound,
    PaymentUnavailable,
    Unprocessable,
    WeakPassword,
)
from shared.errors import install_domain_errors

STATUSES = {
    NotFound: 404,
    Conflict: 409,
    EmptyCart: 400,
    IdempotencyKeyReused: 422,
    Unprocessable: 422,
    Forbidden: 403,
    InvalidCredentials: 401,
    PaymentUnavailable: 503,
    WeakPassword: 422,
}


def install(app: FastAPI) -> None:
    install_domain_errors(app, STATUSES)
