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
from payment_service.alipay.errors import (
    AlipayCertificateMismatch,
    AlipayGatewayError,
    business_error,
    gateway_level_error,
)
from shared.alipay_cert import CertMode, same_key
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
    # Certificate mode (all three, or none): the application's public-key certificate,
    # Alipay's public-key certificate and Alipay's root certificate chain (PEM text or paths).
    app_cert: str = ""
    alipay_cert: str = ""
    root_cert: str = ""

    @property
    def cert_mode(self) -> bool:
        return bool(self.app_cert or self.alipay_cert or self.root_cert)


class AlipayClient:
    def __init__(self, config: AlipayConfig, http: httpx.AsyncClient | None = None):
        if config.sign_type not in ("RSA2", "RSA"):
            raise KeyLoadError(f"ALIPAY_SIGN_TYPE must be RSA2 or RSA, not {config.sign_type!r}")
        if not config.app_id:
            raise KeyLoadError("ALIPAY_APP_ID is not set")
        self.config = config
        self.private_key = _load("ALIPAY_APP_PRIVATE_KEY", load_private_key, config.app_private_key)
        self.certs: CertMode | None = None
        self.cert_params: dict[str, str] = {}
        if config.cert_mode:
            self.certs = _cert_mode(config)
            if not same_key(self.certs.app_public_key, self.private_key.public_key()):
                raise KeyLoadError(
                    "ALIPAY_APP_CERT does not certify the key of ALIPAY_APP_PRIVATE_KEY: give the "
                    "certificate Alipay issued for this application's key (appCertPublicKey_…crt)"
                )
            # Alipay's key comes from its certificate; ALIPAY_PUBLIC_KEY is not used.
            self.public_key = self.certs.alipay_public_key
            self.cert_params = {
                "app_cert_sn": self.certs.app_cert_sn,
                "alipay_root_cert_sn": self.certs.alipay_root_cert_sn,
            }
        else:
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
            **self.cert_params,
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
        quit_url: str | None = None,
    ) -> str:
        """A page ("page") or wap ("wap") pay link that the browser follows to the cashier.
        `quit_url` (wap): where a buyer who leaves the cashier goes; not the return URL, whose
        page expects Alipay's signed return."""
        method, product_code = CHANNELS[channel]
        biz = {
            "out_trade_no": out_trade_no,
            "total_amount": fmt.amount(total_amount),
            "subject": fmt.clean_subject(subject),
            "product_code": product_code,
            "time_expire": fmt.alipay_time(time_expire),
        }
        if channel == "wap" and quit_url:
            biz["quit_url"] = quit_url
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

    async def cancel(self, out_trade_no: str) -> dict:
        """Settle a trade whose state we cannot learn: an unpaid trade is closed (`action`
        `close`), a paid one refunded in full (`refund`); `retry_flag` Y asks to call again."""
        return await self.call("alipay.trade.cancel", {"out_trade_no": out_trade_no})

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

    async def bill_download_url(self, day) -> dict:
        """The day's trade bill: a short-lived `bill_download_url` to a zip of GBK CSV files."""
        biz = {"bill_type": "trade", "bill_date": day.isoformat()}
        return await self.call("alipay.data.dataservice.bill.downloadurl.query", biz)

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
        if not signature or content is None or "error_response" in envelope:
            raise self._unsigned(envelope, node, method, text)
        self._check_cert_sn(envelope, method)
        if not verify_bytes(
            content.encode(CHARSET), signature, self.public_key, self.config.sign_type
        ):
            raise AlipayGatewayError(f"{method}: response signature does not verify")
        result = json.loads(content)
        if not isinstance(result, dict):
            raise AlipayGatewayError(f"{method}: response node is not an object")
        return result

    @staticmethod
    def _unsigned(envelope, node: str, method: str, text: str) -> Exception:
        """Gateway-level errors come back unsigned (§7.2): classify them, trusting no success."""
        inner = (
            envelope.get(node) or envelope.get("error_response")
            if isinstance(envelope, dict)
            else None
        )
        if isinstance(inner, dict) and inner.get("code") not in (None, "10000"):
            error = gateway_level_error(method, inner)
            log.error("alipay_unsigned_error", method=method, error=str(error))
            return error
        return AlipayGatewayError(f"{method}: unsigned or malformed response: {text[:300]}")

    def _check_cert_sn(self, envelope: dict, method: str) -> None:
        """In certificate mode, the response names the Alipay certificate whose key signed it."""
        given = envelope.get("alipay_cert_sn")
        if self.certs is None or not given or given == self.certs.alipay_cert_sn:
            return
        raise AlipayCertificateMismatch(
            f"{method}: Alipay signed this response with its certificate SN {given}, but "
            f"ALIPAY_PUBLIC_CERT is SN {self.certs.alipay_cert_sn}: Alipay has rotated its "
            "certificate. Download the new Alipay public-key certificate "
            "(alipayCertPublicKey_RSA2.crt) from the open platform console (or with "
            f"alipay.open.app.alipaycert.download, alipay_cert_sn={given}), check it against "
            "alipayRootCert.crt, point ALIPAY_PUBLIC_CERT at it and restart.",
            given=given,
            expected=self.certs.alipay_cert_sn,
        )


def _cert_mode(config: AlipayConfig) -> CertMode:
    missing = [
        name
        for name, value in (
            ("ALIPAY_APP_CERT", config.app_cert),
            ("ALIPAY_PUBLIC_CERT", config.alipay_cert),
            ("ALIPAY_ROOT_CERT", config.root_cert),
        )
        if not value
    ]
    if missing:
        raise KeyLoadError(
            "certificate mode needs ALIPAY_APP_CERT, ALIPAY_PUBLIC_CERT and ALIPAY_ROOT_CERT; "
            f"missing: {', '.join(missing)}"
        )
    return CertMode(config.app_cert, config.alipay_cert, config.root_cert)


def _load(name: str, loader, source: str):
    if not source:
        raise KeyLoadError(f"{name} is not set")
    try:
        return loader(source)
    except KeyLoadError as exc:
        raise KeyLoadError(f"{name}: {exc}") from exc
