"""Payment-service domain errors (shared.domain_errors); api/errors.py gives their statuses."""

from shared.domain_errors import Conflict, DomainError
from shared.domain_errors import NotFound as NotFound  # re-exported for the services


class AlipayUnavailable(DomainError):
    """Alipay could not be asked (transport, HTTP or a response that does not verify)."""

    code = "alipay_unavailable"


class AlipayMisconfigured(DomainError):
    """Alipay refuses our configuration (a key, the app id, a certificate): for a person to fix."""

    code = "alipay_misconfigured"


class PaymentNotOpen(Conflict):
    def __init__(self, detail: str):
        super().__init__("payment_not_open", detail)


class AmountMismatch(Conflict):
    def __init__(self, detail: str):
        super().__init__("amount_mismatch", detail)


class RefundExceedsPaid(Conflict):
    """The refunds not failed, with this one, would be more than the payment."""

    def __init__(self, detail: str):
        super().__init__("refund_exceeds_paid", f"The refund is more than is left: {detail}.")


class PaymentNotRefundable(Conflict):
    """No paid payment to refund (never paid, or closed)."""

    def __init__(self, detail: str):
        super().__init__("order_not_refundable", f"Nothing was paid online: {detail}.")
