"""The daily reconciliation with Alipay's trade bill (`python -m payment_service reconcile-bill`).

1. `alipay.data.dataservice.bill.downloadurl.query` (bill_type=trade, bill_date) → a short-lived
   URL; 2. download the zip; 3. read its 业务明细 CSV (shared/alipay_bill.py); 4. compare with the
   payment records; 5. store the day's mismatches (replacing an earlier run's), count them in
   `payment_bill_mismatches_total{kind}` and return them.

Kinds of mismatch:
- `not_recorded`: a payment in the bill for an out_trade_no we never created;
- `not_paid_here`: in the bill as paid, but our record is not paid (a notify and every query
  missed it);
- `missing_from_bill`: recorded as paid during that (Beijing) day, absent from the bill;
- `amount_differs`: the bill's order amount is not the amount we recorded;
- `refund_not_recorded`, `refund_differs`, `refund_missing_from_bill`: the same for refunds,
  matched on out_request_no.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import httpx
import structlog

from payment_service import metrics
from payment_service.domain.payments import Payment, PaymentStatus, Refund
from payment_service.storage import bills
from shared.alipay_bill import REFUND, TRADE, BillRow, read_bill

log = structlog.get_logger(__name__)
BEIJING = timezone(timedelta(hours=8))


@dataclass
class BillRuntime:
    """What the bill needs: the Alipay client and database sessions (the CLI has no app)."""

    alipay: object
    sessions: object


@dataclass
class Mismatch:
    kind: str
    out_trade_no: str
    detail: str
    bill_amount: Decimal | None = None
    recorded_amount: Decimal | None = None
    out_request_no: str | None = None

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "out_trade_no": self.out_trade_no,
            "out_request_no": self.out_request_no,
            "bill_amount": None if self.bill_amount is None else str(self.bill_amount),
            "recorded_amount": None if self.recorded_amount is None else str(self.recorded_amount),
            "detail": self.detail,
        }


def beijing_day(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=BEIJING).astimezone(UTC)
    return start, start + timedelta(days=1)


async def download_bill(alipay, day: date) -> bytes:
    answer = await alipay.bill_download_url(day)
    url = answer.get("bill_download_url")
    if not url:
        raise ValueError(f"Alipay gave no bill_download_url: {answer}")
    async with httpx.AsyncClient(timeout=alipay.config.timeout_seconds * 3) as http:
        response = await http.get(url)
    response.raise_for_status()
    return response.content


def compare(
    day: date,
    rows: list[BillRow],
    recorded: dict[str, Payment],
    paid_that_day: list[Payment],
    recorded_refunds: dict[str, Refund],
    trade_of: dict[int, str],
) -> list[Mismatch]:
    """The mismatches between a day's bill and the records; `trade_of` gives the out_trade_no of
    each payment id the refunds belong to."""
    found: list[Mismatch] = []
    paid_in_bill: set[str] = set()
    refunds_in_bill: set[str] = set()
    for row in rows:
        payment = recorded.get(row.out_trade_no)
        if row.kind == TRADE:
            paid_in_bill.add(row.out_trade_no)
            if payment is None:
                found.append(
                    Mismatch(
                        "not_recorded",
                        row.out_trade_no,
                        "paid at Alipay, no such payment here",
                        row.order_amount,
                        None,
                    )
                )
                continue
            if payment.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
                found.append(
                    Mismatch(
                        "not_paid_here",
                        row.out_trade_no,
                        f"paid at Alipay (trade {row.trade_no}), recorded as {payment.status}",
                        row.order_amount,
                        payment.amount,
                    )
                )
            if row.order_amount != payment.amount:
                found.append(
                    Mismatch(
                        "amount_differs",
                        row.out_trade_no,
                        "the bill's order amount is not the recorded amount",
                        row.order_amount,
                        payment.amount,
                    )
                )
        elif row.kind == REFUND:
            refunds_in_bill.add(row.out_request_no)
            refund = recorded_refunds.get(row.out_request_no)
            amount = -row.received
            if refund is None:
                found.append(
                    Mismatch(
                        "refund_not_recorded",
                        row.out_trade_no,
                        "refunded at Alipay, no succeeded refund here with this request number",
                        amount,
                        None,
                        row.out_request_no,
                    )
                )
            elif refund.amount != amount:
                found.append(
                    Mismatch(
                        "refund_differs",
                        row.out_trade_no,
                        "the bill's refund amount is not the recorded refund",
                        amount,
                        refund.amount,
                        row.out_request_no,
                    )
                )
    start, end = beijing_day(day)
    for payment in paid_that_day:
        if payment.out_trade_no not in paid_in_bill:
            paid_at = payment.paid_at.isoformat() if payment.paid_at else None
            found.append(
                Mismatch(
                    "missing_from_bill",
                    payment.out_trade_no,
                    f"recorded as paid at {paid_at}, not in the bill of {day}",
                    None,
                    payment.amount,
                )
            )
    for out_request_no, refund in recorded_refunds.items():
        at = refund.refunded_at
        if at is not None and start <= at < end and out_request_no not in refunds_in_bill:
            found.append(
                Mismatch(
                    "refund_missing_from_bill",
                    trade_of[refund.payment_id],
                    f"refund recorded at {at.isoformat()}, not in the bill of {day}",
                    None,
                    refund.amount,
                    out_request_no,
                )
            )
    return found


async def reconcile_bill(rt, day: date) -> list[Mismatch]:
    """Download, compare, store; the mismatches found (an empty list when the bill agrees)."""
    rows = read_bill(await download_bill(rt.alipay, day))
    start, end = beijing_day(day)
    async with rt.sessions.begin() as session:
        in_bill = sorted({row.out_trade_no for row in rows})
        recorded = await bills.payments_for(session, in_bill)
        paid_that_day = await bills.paid_between(session, start, end)
        trade_of = {p.id: p.out_trade_no for p in [*recorded.values(), *paid_that_day]}
        recorded_refunds = await bills.refunds_of(session, sorted(trade_of))
        found = compare(day, rows, recorded, paid_that_day, recorded_refunds, trade_of)
        await bills.replace_mismatches(
            session,
            day,
            [
                {**m.as_dict(), "bill_amount": m.bill_amount, "recorded_amount": m.recorded_amount}
                for m in found
            ],
        )
    for mismatch in found:
        metrics.BILL_MISMATCHES.labels(kind=mismatch.kind).inc()
        log.warning("bill_mismatch", bill_date=str(day), **mismatch.as_dict())
    fees = sum((row.fee for row in rows), Decimal("0.00"))
    log.info(
        "bill_reconciled", bill_date=str(day), rows=len(rows), fees=str(fees), mismatches=len(found)
    )
    return found


def json_lines(day: date, found: list[Mismatch]) -> str:
    return "".join(
        json.dumps({"bill_date": str(day), **m.as_dict()}, ensure_ascii=False) + "\n" for m in found
    )
