"""The routes Alipay and the buyer's browser call: the notify and the return page."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from payment_service.api.deps import RuntimeDep
from payment_service.domain.notify import MAX_BODY_BYTES
from payment_service.services.notify import handle_notify
from shared.urls import with_query

router = APIRouter(prefix="/alipay", tags=["alipay"])


@router.post(
    "/notify",
    response_class=PlainTextResponse,
    summary="Alipay's asynchronous notify of a trade",
    responses={
        200: {
            "description": "`success` once verified and recorded (a repeat too), else `fail`; "
            "Alipay retries until it reads `success`.",
            "content": {"text/plain": {"schema": {"type": "string", "enum": ["success", "fail"]}}},
        }
    },
)
async def notify(request: Request, rt: RuntimeDep) -> PlainTextResponse:
    """Alipay's asynchronous notify: answers exactly `success` or `fail` (text/plain)."""
    body = await _read_limited(request, MAX_BODY_BYTES)
    ok = await handle_notify(rt, body)
    return PlainTextResponse("success" if ok else "fail")


async def _read_limited(request: Request, limit: int) -> bytes:
    """At most limit+1 bytes: enough to know the body is too big, without reading all of it."""
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


@router.get(
    "/return",
    summary="The buyer's browser back from Alipay, sent on to the storefront",
    status_code=303,
    responses={
        303: {
            "description": "To PAYMENT_SPA_RESULT_URL with `order_id` and `result=success` when "
            "the signature holds, `result=invalid` when it does not; never proof of payment."
        }
    },
)
async def return_page(request: Request, rt: RuntimeDep) -> RedirectResponse:
    """The buyer's browser back from Alipay: a hint for the storefront, never proof of payment."""
    items = request.query_params.multi_items()
    params = dict(items)
    genuine = (
        len(params) == len(items)
        and params.get("app_id") == rt.settings.alipay_app_id
        and rt.alipay.verify_callback(params)
    )
    order_id = params.get("out_trade_no", "")
    if not (order_id.isascii() and order_id.isalnum() and len(order_id) <= 64):
        order_id = ""
    target = with_query(
        rt.settings.spa_result_url,
        {"order_id": order_id, "result": "success" if genuine else "invalid"},
    )
    return RedirectResponse(target, status_code=303)
