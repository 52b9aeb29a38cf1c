"""The HTTP status of each order-service domain error."""

from fastapi import FastAPI

from order_service.domain.errors import (
    Conflict,
    EmptyCart,
    IdempotencyKeyReused,
    InvalidCredentials,
    NotFound,
    PaymentUnavailable,
)
from shared.errors import install_domain_errors

STATUSES = {
    NotFound: 404,
    Conflict: 409,
    EmptyCart: 400,
    IdempotencyKeyReused: 422,
    InvalidCredentials: 401,
    PaymentUnavailable: 503,
}


def install(app: FastAPI) -> None:
    install_domain_errors(app, STATUSES)
