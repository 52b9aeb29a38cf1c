"""The gateway's side of Alipay's openapi protocol: reading requests, checking the common
parameters and the merchant's signature, and writing signed responses."""

import json
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa

from alipay_sandbox import clock
from shared.alipay_sign import REQUEST_EXCLUDED, sign_bytes, signing_string, verify_bytes
from shared.time import now_utc

PAGE_METHODS = ("alipay.trade.page.pay", "alipay.trade.wap.pay")
SERVER_METHODS = (
    "alipay.trade.query",
    "alipay.trade.close",
    "alipay.trade.cancel",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
    "alipay.data.dataservice.bill.downloadurl.query",
)
CHARSETS = ("utf-8", "gbk", "gb2312")
SIGN_TYPES = ("RSA2", "RSA")
MSGS = {
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40004": "Business Failed",
}


class GatewayError(Exception):
    """A refusal with Alipay's code, sub_code and sub_msg (and the rebuilt sign string, if any)."""

    def __init__(self, code: str, sub_code: str, sub_msg: str, sign_string: str | None = None):
        super().__init__(f"{code} {sub_code}: {sub_msg}")
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.sign_string = sign_string

    @property
    def msg(self) -> str:
        return MSGS.get(self.code, "Business Failed")


@dataclass(frozen=True)
class App:
    app_id: str
    public_key: rsa.RSAPublicKey
    # Certificate mode: the SNs every request must carry; None in key mode.
    app_cert_sn: str | None = None
    alipay_root_cert_sn: str | None = None


def check_cert_sns(params: dict[str, str], app: App) -> None:
    """Certificate mode: the application's certificate and Alipay's root chain, by SN."""
    if app.app_cert_sn is None:
        return
    if not params.get("app_cert_sn"):
        raise GatewayError("40001", "isv.missing-app-cert-sn", "缺少应用公钥证书序列号 app_cert_sn")
    if params["app_cert_sn"] != app.app_cert_sn:
        raise GatewayError(
            "40002", "isv.app-cert-not-exist", "应用公钥证书不存在: app_cert_sn does not match"
        )
    if not params.get("alipay_root_cert_sn"):
        raise GatewayError(
            "40001", "isv.missing-alipay-root-cert-sn", "缺少支付宝根证书序列号 alipay_root_cert_sn"
        )
    if params["alipay_root_cert_sn"] != app.alipay_root_cert_sn:
        raise GatewayError(
            "40002",
            "isv.invalid-alipay-root-cert-sn",
            "支付宝根证书序列号无效: alipay_root_cert_sn does not match alipayRootCert.crt",
        )


def read_params(query: str, body: bytes) -> dict[str, str]:
    """The query string and the form body merged (body wins), decoded once in the declared charset.

    The charset is first found with a byte-transparent decode, since its own value is ASCII.
    """
    raw_body = body.decode("latin-1")
    probe = dict(parse_qsl(query, encoding="latin-1")) | dict(
        parse_qsl(raw_body, encoding="latin-1")
    )
    charset = (probe.get("charset") or "utf-8").lower()
    encoding = charset if charset in CHARSETS else "utf-8"
    params = dict(parse_qsl(query, keep_blank_values=True, encoding=encoding, errors="replace"))
    params.update(parse_qsl(raw_body, keep_blank_values=True, encoding=encoding, errors="replace"))
    return params


def method_of(params: dict[str, str]) -> str:
    method = params.get("method", "")
    if not method:
        raise GatewayError("40001", "isv.missing-method", "缺少方法名参数")
    if method not in PAGE_METHODS + SERVER_METHODS:
        raise GatewayError("40002", "isv.invalid-method", f"不存在的方法名: {method}")
    return method


def check_common(params: dict[str, str], apps: dict[str, App]) -> App:
    """The checks Alipay makes before the signature, in its order."""
    if not params.get("app_id"):
        raise GatewayError("40001", "isv.missing-app-id", "缺少AppID参数")
    app = apps.get(params["app_id"])
    if app is None:
        raise GatewayError("40002", "isv.invalid-app-id", "无效的AppID参数")
    charset = params.get("charset", "")
    if charset and charset.lower() not in CHARSETS:
        raise GatewayError("40002", "isv.invalid-charset", f"字符集不合法: {charset}")
    if not params.get("sign_type"):
        raise GatewayError("40001", "isv.missing-signature-type", "缺少签名类型参数")
    if params["sign_type"] not in SIGN_TYPES:
        raise GatewayError("40002", "isv.invalid-signature-type", "无效的签名类型参数")
    if not params.get("sign"):
        raise GatewayError("40001", "isv.missing-signature", "缺少签名参数")
    if not params.get("timestamp"):
        raise GatewayError("40001", "isv.missing-timestamp", "缺少时间戳参数")
    try:
        clock.parse_beijing(params["timestamp"])
    except ValueError:
        raise GatewayError(
            "40002", "isv.invalid-timestamp", "非法的时间戳参数: use yyyy-MM-dd HH:mm:ss"
        ) from None
    if not params.get("version"):
        raise GatewayError("40001", "isv.missing-version", "缺少版本参数")
    if params["version"] != "1.0":
        raise GatewayError("40002", "isv.invalid-version", f"无效的版本参数: {params['version']}")
    if params.get("format") and params["format"].lower() != "json":
        raise GatewayError("40002", "isv.invalid-format", f"无效的数据格式: {params['format']}")
    return app


# How far a server call's timestamp may be from the gateway's clock. Alipay refuses a stale or
# future timestamp; the usual cause is a server sending its own zone's time, not Beijing's
# (a UTC server is 8 hours behind).
TIMESTAMP_SKEW = timedelta(minutes=15)


def check_timestamp_skew(params: dict[str, str]) -> None:
    """For server calls only: a pay link is carried by the browser and may be opened later."""
    sent = clock.parse_beijing(params["timestamp"])
    if abs(now_utc() - sent) > TIMESTAMP_SKEW:
        raise GatewayError(
            "40002",
            "isv.invalid-timestamp",
            f"非法的时间戳参数: {params['timestamp']} is more than 15 minutes from the "
            f"gateway's Beijing time {clock.beijing(now_utc())} (send Beijing time, UTC+8)",
        )


def charset_of(params: dict[str, str]) -> str:
    charset = (params.get("charset") or "utf-8").lower()
    return charset if charset in CHARSETS else "utf-8"


def verify_request(params: dict[str, str], app: App) -> None:
    """Everything received but `sign`, empty values dropped, `sign_type` kept (§3.1)."""
    text = signing_string(params, REQUEST_EXCLUDED)
    try:
        message = text.encode(charset_of(params))
    except UnicodeEncodeError:
        message = b""
    if not message or not verify_bytes(
        message, params["sign"], app.public_key, params["sign_type"]
    ):
        raise GatewayError(
            "40002",
            "isv.invalid-signature",
            "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配",
            sign_string=text,
        )


def response_node(method: str) -> str:
    return method.replace(".", "_") + "_response"


def signed_response(
    node: str,
    content: dict,
    private_key,
    sign_type: str,
    charset: str,
    alipay_cert_sn: str | None = None,
) -> bytes:
    """Serialise the inner object once, sign exactly that text, emit the node then `sign` (§7.3);
    in certificate mode `alipay_cert_sn` (the certificate of the signing key) between them.

    Values are kept free of braces so that brace-counting clients (python-alipay-sdk) cut the
    same substring.
    """
    inner = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    signature = sign_bytes(inner.encode(charset), private_key, sign_type)
    cert = f',"alipay_cert_sn":"{alipay_cert_sn}"' if alipay_cert_sn else ""
    return f'{{"{node}":{inner}{cert},"sign":"{signature}"}}'.encode(charset)


def error_content(error: GatewayError, extra: dict | None = None) -> dict:
    content = {
        "code": error.code,
        "msg": error.msg,
        "sub_code": error.sub_code,
        "sub_msg": error.sub_msg,
    }
    return content | (extra or {})


def unsigned_node(node: str, error: GatewayError) -> bytes:
    """A gateway-level refusal (bad signature, unknown app id, ...): the node, no `sign`."""
    return json.dumps({node: error_content(error)}, ensure_ascii=False).encode()


def unsigned_error(error: GatewayError) -> bytes:
    """For a request whose method is unknown: Alipay's `error_response`, without a signature."""
    return json.dumps({"error_response": error_content(error)}, ensure_ascii=False).encode()
