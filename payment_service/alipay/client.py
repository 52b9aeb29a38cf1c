"""Our Alipay openapi client: signed payment links, callback verification, server calls.

"Client" APIs (page and wap pay) only build a signed URL for the browser. "Server" APIs
(query, close, refund, refund query) are POSTed to the gateway; their response is trusted only
after its signature checks out over the exact raw substring Alipay signed.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import structlog

from payment_service.alipay import params as fmt
from payment_service.alipay.errors import AlipayGatewayError, business_error
from shared.alipay_sign import (
    NOTIFY_EXCLUDED,
    KeyLoadError,
    extract_response_content,
    load_private_key,
    load_public_key,
    sign_params,
    verify_bytes,
    verify_params,
)
from shared.time import now_utc

log = structlog.get_logger(__name__)

CHARSET = "utf-8"
PAGE_PAY = ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")
WAP_PAY = ("alipay.trade.wap.pay", "QUICK_WAP_WAY")
CHANNELS = {"page": PAGE_PAY, "wap": WAP_PAY}


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    app_private_key: str
    alipay_public_key: str
    gateway_url: str
    sign_type: str = "RSA2"
    timeout_seconds: float = 10.0


class AlipayClient:
    def __init__(self, config: AlipayConfig, http: httpx.AsyncClient | None = None):
        if config.sign_type not in ("RSA2", "RSA"):
            raise KeyLoadError(f"ALIPAY_SIGN_TYPE must be RSA2 or RSA, not {config.sign_type!r}")
        if not config.app_id:
            raise KeyLoadError("ALIPAY_APP_ID is not set")
        self.config = config
        self.private_key = _load("ALIPAY_APP_PRIVATE_KEY", load_private_key, config.app_private_key)
        self.public_key = _load("ALIPAY_PUBLIC_KEY", load_public_key, config.alipay_public_key)
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(config.timeout_seconds, 3.0))
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- requests -------------------------------------------------------------------------

    def signed_params(
        self, method: str, biz: dict, now: datetime | None = None, **extra: str | None
    ) -> dict[str, str]:
        """The complete parameter set of a request, `sign` included (empty extras dropped)."""
        request = {
            "app_id": self.config.app_id,
            "method": method,
            "charset": CHARSET,
            "sign_type": self.config.sign_type,
            "timestamp": fmt.alipay_time(now or now_utc()),
            "version": "1.0",
            "biz_content": fmt.biz_content(biz),
            **{key: value for key, value in extra.items() if value},
        }
        request["sign"] = sign_params(request, self.private_key, self.config.sign_type, CHARSET)
        return request

    def pay_url(
        self,
        channel: str,
        out_trade_no: str,
        total_amount: Decimal,
        subject: str,
        time_expire: datetime,
        notify_url: str,
        return_url: str,
        now: datetime | None = None,
    ) -> str:
        """A page ("page") or wap ("wap") pay link that the browser follows to the cashier."""
        method, product_code = CHANNELS[channel]
        biz = {
            "out_trade_no": out_trade_no,
            "total_amount": fmt.amount(total_amount),
            "subject": subject,
            "product_code": product_code,
            "time_expire": fmt.alipay_time(time_expire),
        }
        if channel == "wap":
            biz["quit_url"] = return_url
        request = self.signed_params(
            method, biz, now=now, notify_url=notify_url, return_url=return_url
        )
        return f"{self.config.gateway_url}?{urlencode(request)}"

    # -- callbacks ------------------------------------------------------------------------

    def verify_callback(self, params: Mapping[str, str]) -> bool:
        """A notify's or a return's signature (sign and sign_type left out, rsaCheckV1)."""
        sign_type = params.get("sign_type") or self.config.sign_type
        if sign_type != self.config.sign_type:
            return False
        charset = params.get("charset") or CHARSET
        return verify_params(params, self.public_key, sign_type, NOTIFY_EXCLUDED, charset)

    # -- server calls ---------------------------------------------------------------------

    async def query(self, out_trade_no: str) -> dict:
        return await self.call("alipay.trade.query", {"out_trade_no": out_trade_no})

    async def close(self, out_trade_no: str) -> dict:
        return await self.call("alipay.trade.close", {"out_trade_no": out_trade_no})

    async def refund(
        self, out_trade_no: str, refund_amount: Decimal, out_request_no: str, reason: str
    ) -> dict:
        biz = {
            "out_trade_no": out_trade_no,
            "refund_amount": fmt.amount(refund_amount),
            "out_request_no": out_request_no,
            "refund_reason": reason,
        }
        return await self.call("alipay.trade.refund", biz)

    async def refund_query(self, out_trade_no: str, out_request_no: str) -> dict:
        biz = {"out_trade_no": out_trade_no, "out_request_no": out_request_no}
        return await self.call("alipay.trade.fastpay.refund.query", biz)

    async def call(self, method: str, biz: dict) -> dict:
        """POST a signed request; the verified inner response, or a typed exception."""
        request = self.signed_params(method, biz)
        try:
            response = await self.http.post(
                self.config.gateway_url,
                content=urlencode(request).encode("ascii"),
                headers={"Content-Type": f"application/x-www-form-urlencoded;charset={CHARSET}"},
            )
        except httpx.HTTPError as exc:
            raise AlipayGatewayError(f"{method}: gateway unreachable: {exc!r}") from exc
        if response.status_code != 200:
            raise AlipayGatewayError(f"{method}: gateway answered HTTP {response.status_code}")
        result = self.verified_response(response.content, method)
        log.info(
            "alipay_call", method=method, code=result.get("code"), sub_code=result.get("sub_code")
        )
        if result.get("code") != "10000":
            raise business_error(result)
        return result

    def verified_response(self, body: bytes, method: str) -> dict:
        """The inner object of a gateway response, parsed only from the signed substring."""
        try:
            text = body.decode(CHARSET)
            envelope = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise AlipayGatewayError(f"{method}: response is not JSON") from exc
        node = fmt.response_node(method)
        signature = envelope.get("sign") if isinstance(envelope, dict) else None
        content = extract_response_content(text, node)
        if not signature or content is None:
            raise AlipayGatewayError(f"{method}: unsigned or malformed response: {text[:300]}")
        if not verify_bytes(
            content.encode(CHARSET), signature, self.public_key, self.config.sign_type
        ):
            raise AlipayGatewayError(f"{method}: response signature does not verify")
        result = json.loads(content)
        if not isinstance(result, dict):
            raise AlipayGatewayError(f"{method}: response node is not an object")
        return result


def _load(name: str, loader, source: str):
    if not source:
        raise KeyLoadError(f"{name} is not set")
    try:
        return loader(source)
    except KeyLoadError as exc:
        raise KeyLoadError(f"{name}: {exc}") from exc
