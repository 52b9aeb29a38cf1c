"""The HTTP status of each payment-service domain error."""

from fastapi import FastAPI

from payment_service.domain.errors import (
    AlipayMisconfigured,
    AlipayUnavailable,
    Conflict,
    NotFound,
)
from shared.errors import install_domain_errors

STATUSES = {NotFound: 404, Conflict: 409, AlipayMisconfigured: 502, AlipayUnavailable: 503}


def install(app: FastAPI) -> None:
    install_domain_errors(app, STATUSES)
