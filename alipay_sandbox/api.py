"""Routes for tests and scripts: pay as a buyer, inspect a trade, inject faults."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from alipay_sandbox.faults import Fault
from alipay_sandbox.service import Sandbox
from alipay_sandbox.trades import TradeError
from shared.errors import Problem
from shared.money import Money

router = APIRouter()


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _faults(sandbox: Sandbox) -> dict:
    return {"faults": [f.model_dump(mode="json") for f in sandbox.faults.all()]}


@router.post("/sandbox/trades/{out_trade_no}/pay")
async def pay_trade(out_trade_no: str, request: Request) -> dict:
    """Pay an open trade (or an issued link) as a buyer would; the notify follows."""
    try:
        paid = await _sandbox(request).pay_out_trade_no(out_trade_no)
    except TradeError as exc:
        if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
            raise Problem(
                404, "trade_not_found", f"no pay request seen for {out_trade_no}"
            ) from None
        raise Problem(409, "trade_not_open", exc.sub_msg, sub_code=exc.sub_code) from None
    return {
        "out_trade_no": paid.trade.out_trade_no,
        "trade_no": paid.trade.trade_no,
        "status": paid.trade.status,
        "return_url": paid.return_url,
    }


class ConsoleRefund(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money = Field(gt=0)


@router.post("/sandbox/trades/{out_trade_no}/refund")
async def console_refund(out_trade_no: str, body: ConsoleRefund, request: Request) -> dict:
    """A refund made in Alipay's console, outside the shop; the refund notify follows."""
    sandbox = _sandbox(request)
    try:
        refund = await sandbox.console_refund(out_trade_no, body.amount)
    except TradeError as exc:
        if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
            raise Problem(404, "trade_not_found", f"no trade {out_trade_no}") from None
        raise Problem(409, "refund_refused", exc.sub_msg, sub_code=exc.sub_code) from None
    return {
        "out_trade_no": out_trade_no,
        "out_request_no": refund.out_request_no,
        "refund_amount": str(refund.refund_amount),
        "gmt_refund": refund.gmt_refund.isoformat(),
    }


@router.get("/sandbox/trades/{out_trade_no}")
async def get_trade(out_trade_no: str, request: Request) -> dict:
    view = await _sandbox(request).view(out_trade_no)
    if view is None:
        raise Problem(404, "trade_not_found", f"no pay request seen for {out_trade_no}")
    return view


@router.post("/sandbox/faults")
async def set_fault(fault: Fault, request: Request) -> dict:
    sandbox = _sandbox(request)
    async with sandbox.lock:
        sandbox.faults.set(fault)
        return _faults(sandbox)


@router.get("/sandbox/faults")
async def list_faults(request: Request) -> dict:
    return _faults(_sandbox(request))


@router.delete("/sandbox/faults")
async def clear_faults(request: Request, out_trade_no: str | None = None) -> dict:
    """Clears every fault, or only one trade's with ?out_trade_no=."""
    sandbox = _sandbox(request)
    async with sandbox.lock:
        sandbox.faults.clear(out_trade_no)
        return _faults(sandbox)


@router.get("/sandbox/bills/{token}.zip")
async def download_bill(token: str, request: Request) -> Response:
    """The zip behind a `bill_download_url` (Alipay's are short-lived links on its file host)."""
    body = _sandbox(request).bills.get(token)
    if body is None:
        raise Problem(404, "bill_not_found", "unknown or expired bill link")
    return Response(body, media_type="application/zip")
