"""Posting notifies to the merchant's notify_url, retrying on Alipay's schedule.

Only a 200 whose body is `success` (surrounding whitespace allowed, as Alipay accepts
`println("success")` from its own Java demo) acknowledges a notify. Requests carry the headers
Alipay's notify client sends. Attempts: one now, then after
4m, 10m, 10m, 1h, 2h, 6h, 15h (8 in all), each interval multiplied by SANDBOX_NOTIFY_SCALE.
The notify_id stays the same across retries. Faults (faults.py) change how deliveries go.
"""

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import structlog

from alipay_sandbox.faults import Fault
from shared.alipay_sign import NOTIFY_EXCLUDED, sign_bytes, signing_string
from shared.time import now_utc

RETRY_INTERVALS = (4 * 60, 10 * 60, 10 * 60, 3600, 2 * 3600, 6 * 3600, 15 * 3600)
AMOUNT_FIELDS = ("total_amount", "receipt_amount", "invoice_amount", "buyer_pay_amount")
log = structlog.get_logger(__name__)


@dataclass
class Delivery:
    attempt: int
    kind: str  # genuine | duplicate | bad_signature | amount_delta | not_sent
    at: datetime
    status_code: int | None = None
    response: str | None = None
    error: str | None = None
    acknowledged: bool = False

    def view(self) -> dict:
        return {
            "attempt": self.attempt,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "status_code": self.status_code,
            "response": self.response,
            "error": self.error,
            "acknowledged": self.acknowledged,
        }


@dataclass
class Notify:
    notify_id: str
    url: str
    fields: dict[str, str]  # without sign and sign_type
    sign_type: str
    charset: str
    deliveries: list[Delivery] = field(default_factory=list)
    acknowledged: bool = False
    finished: bool = False

    def view(self) -> dict:
        return {
            "notify_id": self.notify_id,
            "url": self.url,
            "trade_status": self.fields["trade_status"],
            "fields": self.fields,
            "acknowledged": self.acknowledged,
            "finished": self.finished,
            "deliveries": [d.view() for d in self.deliveries],
        }


def new_notify_id() -> str:
    return secrets.token_hex(16) + "gj"


class Notifier:
    def __init__(self, client: httpx.AsyncClient, private_key, scale: float):
        self.client = client
        self.private_key = private_key
        self.scale = scale
        self.tasks: set[asyncio.Task] = set()

    def start(self, notifies: list[Notify], fault: Fault) -> None:
        """Deliver notifies in order: each starts once the previous one's first attempt ended."""
        task = asyncio.create_task(self._chain(notifies, fault))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _chain(self, notifies: list[Notify], fault: Fault) -> None:
        if fault.delay_seconds:
            await asyncio.sleep(fault.delay_seconds)
        runs = []
        try:
            for notify in notifies:
                first_done = asyncio.Event()
                runs.append(asyncio.create_task(self._deliver(notify, fault, first_done)))
                await first_done.wait()
            await asyncio.gather(*runs)
        finally:
            for run in runs:  # on shutdown, no delivery outlives its chain
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)

    async def _deliver(self, notify: Notify, fault: Fault, first_done: asyncio.Event) -> None:
        try:
            for attempt in range(len(RETRY_INTERVALS) + 1):
                if attempt:
                    await asyncio.sleep(RETRY_INTERVALS[attempt - 1] * self.scale)
                if await self._attempt(notify, attempt + 1, fault):
                    notify.acknowledged = True
                    break
                first_done.set()
            else:
                log.warning("notify.gave_up", notify_id=notify.notify_id, url=notify.url)
        finally:
            notify.finished = True
            first_done.set()

    async def _attempt(self, notify: Notify, attempt: int, fault: Fault) -> bool:
        if attempt <= fault.fail_first:
            notify.deliveries.append(
                Delivery(attempt, "not_sent", now_utc(), error="fault: fail_first")
            )
            return False
        first_real = attempt == fault.fail_first + 1
        if first_real:
            if fault.bad_signature:
                await self._post(notify, attempt, "bad_signature", self._broken_body(notify))
            if fault.forged_amount_delta:
                body = self._body(_shifted(notify.fields, fault.forged_amount_delta), notify)
                await self._post(notify, attempt, "amount_delta", body)
        copies = fault.repeat if first_real else 1
        kinds = ["genuine"] + ["duplicate"] * (copies - 1)
        body = self._body(notify.fields, notify)
        results = await asyncio.gather(*(self._post(notify, attempt, kind, body) for kind in kinds))
        return any(results)

    def _body(self, fields: dict[str, str], notify: Notify) -> dict[str, str]:
        # signed over the V1 string (no sign, no sign_type), but sign_type travels with it
        message = signing_string(fields, NOTIFY_EXCLUDED).encode(notify.charset)
        sign = sign_bytes(message, self.private_key, notify.sign_type)
        return {**fields, "sign_type": notify.sign_type, "sign": sign}

    def _broken_body(self, notify: Notify) -> dict[str, str]:
        body = self._body({**notify.fields, "notify_time": "1999-01-01 00:00:00"}, notify)
        return {**body, "notify_time": notify.fields["notify_time"]}

    async def _post(self, notify: Notify, attempt: int, kind: str, body: dict[str, str]) -> bool:
        delivery = Delivery(attempt, kind, now_utc())
        notify.deliveries.append(delivery)
        content = urlencode(body, encoding=notify.charset)
        headers = notify_headers(notify.charset)
        try:
            response = await self.client.post(notify.url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            log.info(
                "notify.unreachable",
                notify_id=notify.notify_id,
                attempt=attempt,
                error=delivery.error,
            )
            return False
        delivery.status_code = response.status_code
        delivery.response = response.text[:200]
        delivery.acknowledged = response.status_code == 200 and response.text.strip() == "success"
        log.info(
            "notify.delivered",
            notify_id=notify.notify_id,
            attempt=attempt,
            kind=kind,
            status=response.status_code,
            acknowledged=delivery.acknowledged,
        )
        return delivery.acknowledged and kind in ("genuine", "duplicate")


def notify_headers(charset: str) -> dict[str, str]:
    """As Alipay's notify client sends them (alipay-sdk-nodejs-all#15): a Content-Type with a
    stray `text/html` in it, and an old browser's User-Agent."""
    return {
        "Content-Type": f"application/x-www-form-urlencoded; text/html; charset={charset}",
        "User-Agent": "Mozilla/4.0",
    }


def _shifted(fields: dict[str, str], delta: Decimal) -> dict[str, str]:
    shifted = dict(fields)
    for name in AMOUNT_FIELDS:
        if name in shifted and Decimal(shifted[name]) > 0:
            shifted[name] = f"{Decimal(shifted[name]) + delta:.2f}"
    return shifted
