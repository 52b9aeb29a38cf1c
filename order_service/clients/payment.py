"""The payment service, called over signed internal HTTP (never inside a database transaction)."""

import math
from datetime import datetime
from decimal import Decimal

import httpx
import structlog

from order_service.domain.errors import Conflict, PaymentUnavailable
from shared.http import internal_client, problem_code
from shared.money import format_money, to_money

log = structlog.get_logger(__name__)
CLOSE_BATCH = 500  # the payment service's limit for one batch close


class PaymentClient:
    def __init__(self, base_url: str, secret: str, timeout: float):
        self.http = internal_client(base_url, secret, timeout)
        self.timeout = timeout

    async def create_payment(
        self, order_id: str, amount: Decimal, subject: str, channel: str, pay_deadline: datetime
    ) -> str:
        """The pay_url of the order's payment; 409 payment_not_open when it is paid or closed."""
        body = {
            "order_id": order_id,
            "amount": format_money(amount),
            "subject": subject,
            "channel": channel,
            "pay_deadline": pay_deadline.isoformat(),
        }
        response = await self._post("/internal/payments", body)
        if response.status_code == 409:
            code = problem_code(response)
            log.warning("payment_refused", order_id=order_id, code=code)
            raise Conflict("order_not_payable", "This order cannot be paid now.", reason=code)
        return self._json(response)["pay_url"]

    async def close_payment(self, order_id: str) -> str:
        """`closed` (no payment can succeed any more) or `paid` (Alipay says it was paid)."""
        response = await self._post(f"/internal/payments/{order_id}/close", {})
        status = self._json(response).get("status")
        if status not in ("closed", "paid"):
            log.error("payment_close_unexpected", order_id=order_id, status=status)
            raise PaymentUnavailable("The payment service gave an unexpected answer.")
        return status

    async def close_payments(self, order_ids: list[str], concurrency: int) -> dict[str, str]:
        """`close_payment` for many orders, `concurrency` Alipay calls at a time: each order's
        `closed`, `paid` or `unavailable` (that order's close could not be confirmed), in
        requests of up to CLOSE_BATCH orders. PaymentUnavailable when a request fails."""
        answers: dict[str, str] = {}
        for start in range(0, len(order_ids), CLOSE_BATCH):
            chunk = order_ids[start : start + CLOSE_BATCH]
            # each order's close may take what one close call may take, `concurrency` at once
            timeout = self.timeout * math.ceil(len(chunk) / concurrency)
            body = {"order_ids": chunk, "concurrency": concurrency}
            response = await self._post("/internal/payments/close", body, timeout)
            for result in self._json(response).get("results", []):
                answers[result.get("order_id")] = result.get("status")
        for order_id in order_ids:
            if answers.get(order_id) not in ("closed", "paid", "unavailable"):
                log.error(
                    "payment_close_unexpected", order_id=order_id, status=answers.get(order_id)
                )
                answers[order_id] = "unavailable"
        return answers

    async def refund(self, order_id: str, amount: Decimal, reason: str, request_key: str) -> dict:
        """The refund as the payment service made (or found again by its key) it."""
        body = {"amount": format_money(amount), "reason": reason, "request_key": request_key}
        response = await self._post(f"/internal/payments/{order_id}/refunds", body)
        if response.status_code == 409:
            code = problem_code(response) or "order_not_refundable"
            raise Conflict(code, response.json().get("detail", "The refund was refused."))
        if response.status_code != 201:
            return _refund(self._json(response))
        return _refund(response.json())

    async def refunds(self, order_id: str) -> dict:
        try:
            response = await self.http.get(f"/internal/payments/{order_id}/refunds")
        except httpx.HTTPError as exc:
            raise PaymentUnavailable("The payment service is unavailable.") from exc
        answer = self._json(response)
        return answer | {"items": [_refund(item) for item in answer["items"]]}

    async def _post(self, path: str, body: dict, seconds: float | None = None) -> httpx.Response:
        """`seconds`: a longer timeout than the client's (connecting keeps the client's bound)."""
        timeout = self.http.timeout
        if seconds is not None:
            timeout = httpx.Timeout(seconds, connect=timeout.connect)
        try:
            response = await self.http.post(path, json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            log.warning("payment_service_unreachable", path=path, error=repr(exc))
            raise PaymentUnavailable(
                "The payment service is unavailable; try again shortly."
            ) from exc
        if response.status_code >= 500:
            log.warning("payment_service_error", path=path, status=response.status_code)
            raise PaymentUnavailable("The payment service is unavailable; try again shortly.")
        return response

    def _json(self, response: httpx.Response) -> dict:
        if response.status_code != 200:
            log.error(
                "payment_service_refused", status=response.status_code, body=response.text[:500]
            )
            raise PaymentUnavailable("The payment service refused the request.")
        try:
            return response.json()
        except ValueError as exc:
            raise PaymentUnavailable("The payment service gave an unreadable answer.") from exc

    async def aclose(self) -> None:
        await self.http.aclose()


def _refund(answer: dict) -> dict:
    """A refund from the payment service's JSON, with Decimal and datetime values."""
    return answer | {
        "amount": to_money(answer["amount"]),
        "created_at": datetime.fromisoformat(answer["created_at"]),
    }
