"""Order-service domain errors (shared.domain_errors); api/errors.py gives their statuses."""

from shared.domain_errors import Conflict, DomainError
from shared.domain_errors import NotFound as NotFound  # re-exported for the services


class InsufficientStock(Conflict):
    def __init__(self, sku_id: int):
        super().__init__("insufficient_stock", f"Not enough stock for sku {sku_id}.", sku_id=sku_id)


class StockContention(Conflict):
    def __init__(self):
        super().__init__(
            "stock_contention", "Too many buyers for the same items right now; please retry."
        )


class EmptyCart(DomainError):
    code = "empty_cart"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


class Forbidden(DomainError):
    code = "forbidden"


class Unprocessable(DomainError):
    """A well-formed request the rules refuse (422), e.g. comments that do not match the lines."""

    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail, **extra)
        self.code = code


class InvalidCredentials(DomainError):
    code = "invalid_credentials"


class WeakPassword(DomainError):
    code = "weak_password"


class PaymentUnavailable(DomainError):
    code = "payment_unavailable"


class InvalidTransition(Conflict):
    """A status change the order state machine does not allow."""

    def __init__(self, code: str, current: str, target: str):
        super().__init__(
            code, f"An order that is {current} cannot become {target}.", order_status=current
        )
