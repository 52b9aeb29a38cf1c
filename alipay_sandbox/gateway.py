"""`/gateway.do` (page/wap pay → cashier; server APIs → signed JSON) and the cashier's buttons."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alipay_sandbox import cashier, protocol
from alipay_sandbox.protocol import GatewayError
from alipay_sandbox.service import Sandbox
from alipay_sandbox.trades import TradeError

router = APIRouter()


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _refused(exc: TradeError, status: int) -> HTMLResponse:
    """The cashier's error page for a trade the emulator refuses (Alipay's 40004)."""
    return HTMLResponse(cashier.error("40004", exc.sub_code, exc.sub_msg), status_code=status)


@router.api_route("/gateway.do", methods=["GET", "POST"], include_in_schema=True)
async def gateway(request: Request) -> Response:
    """Alipay's single entry point: the method travels as a parameter (query or form body)."""
    params = protocol.read_params(request.url.query, await request.body())
    try:
        method = protocol.method_of(params)
    except GatewayError as exc:
        return Response(protocol.unsigned_error(exc), media_type="application/json;charset=utf-8")
    if method in protocol.PAGE_METHODS:
        return await _page_pay(request, method, params)
    return await _server_call(request, method, params)


def _verify(request: Request, params: dict[str, str], server_call: bool = False) -> None:
    app = protocol.check_common(params, request.app.state.apps)
    if server_call:
        protocol.check_timestamp_skew(params)
    protocol.check_cert_sns(params, app)
    protocol.verify_request(params, app)


async def _page_pay(request: Request, method: str, params: dict[str, str]) -> Response:
    sandbox = _sandbox(request)
    try:
        _verify(request, params)
        link = await sandbox.issue_link(method, params, protocol.charset_of(params))
        link, trade = await sandbox.open_cashier(link.link_id)
    except GatewayError as exc:
        html = cashier.error(exc.code, exc.sub_code, exc.sub_msg, exc.sign_string)
        return HTMLResponse(html, status_code=400)
    except TradeError as exc:
        return _refused(exc, 409)
    return HTMLResponse(cashier.cashier(link, trade))


async def _server_call(request: Request, method: str, params: dict[str, str]) -> Response:
    sandbox = _sandbox(request)
    node = protocol.response_node(method)
    sign_type = params.get("sign_type", "")
    if sign_type not in protocol.SIGN_TYPES:
        sign_type = "RSA2"
    charset = protocol.charset_of(params)
    try:
        _verify(request, params, server_call=True)
        content = await sandbox.call(method, params)
    except GatewayError as exc:
        if exc.code != "40004":
            # gateway-level errors (20000, 40001, 40002) come back unsigned, as Alipay's do
            return Response(
                protocol.unsigned_node(node, exc), media_type=f"application/json;charset={charset}"
            )
        content = protocol.error_content(exc)
    except TradeError as exc:
        error = GatewayError("40004", exc.sub_code, exc.sub_msg)
        content = protocol.error_content(error)
    body = protocol.signed_response(
        node, content, sandbox.private_key, sign_type, charset, request.app.state.alipay_cert_sn
    )
    return Response(body, media_type=f"application/json;charset={charset}")


@router.get("/cashier/{link_id}", response_class=HTMLResponse)
async def open_cashier(link_id: str, request: Request) -> HTMLResponse:
    """Opening the cashier creates no trade: the buyer must log in or scan first (§4.2)."""
    try:
        link, trade = await _sandbox(request).open_cashier(link_id)
    except TradeError as exc:
        return _refused(exc, 409)
    return HTMLResponse(cashier.cashier(link, trade))


@router.post("/cashier/{link_id}/login")
async def log_in(link_id: str, request: Request) -> Response:
    """The buyer logs in on the cashier (or scans its QR code with the wallet): the trade now
    exists, WAIT_BUYER_PAY; 303 back to the cashier."""
    try:
        await _sandbox(request).log_in(link_id)
    except TradeError as exc:
        return _refused(exc, 409)
    return RedirectResponse(f"/cashier/{link_id}", status_code=303)


@router.post("/cashier/{link_id}/pay")
async def pay(link_id: str, request: Request) -> Response:
    """The buyer pays: 303 to the signed return_url (a plain page when the merchant gave none)."""
    try:
        paid = await _sandbox(request).pay_link(link_id)
    except TradeError as exc:
        return _refused(exc, 409)
    if paid.return_url:
        return RedirectResponse(paid.return_url, status_code=303)
    return HTMLResponse(
        cashier.message("Payment succeeded", f"Trade {paid.trade.trade_no} is paid.")
    )


@router.post("/cashier/{link_id}/cancel")
async def cancel(link_id: str, request: Request) -> Response:
    """The buyer leaves; the trade stays open until it expires or is closed, as at Alipay.

    A wap request's quit_url gets a 303; otherwise a "canceled" page links back to the
    (unsigned) return_url, since an unsigned return would fail the merchant's verification.
    """
    try:
        link = await _sandbox(request).link(link_id)
    except TradeError as exc:
        return _refused(exc, 404)
    if link.quit_url:
        return RedirectResponse(link.quit_url, status_code=303)
    text = "You left the cashier without paying; the order can still be paid until it expires."
    return HTMLResponse(cashier.message("Payment canceled", text, link.return_url))
