"""Alipay's answers as exceptions: one class per business sub_code we act on.

`AlipayGatewayError` means we could not trust or reach the gateway (transport error, HTTP error,
unsigned or badly signed response): the outcome is unknown and the call may be retried.
`AlipayBusinessError` means Alipay answered, signed, that it would not do it (code != 10000).
"""


class AlipayError(Exception):
    """Any failure of an Alipay server call."""


class AlipayGatewayError(AlipayError):
    """Transport failure, or a response without a valid signature: the outcome is unknown."""


class AlipayConfigurationError(AlipayError):
    """Our configuration is wrong (a key, an app id, a certificate): retrying cannot help.

    Final and loud: a person must fix the settings. The message says what to change. When the
    gateway refused the call, `code`, `sub_code` and `sub_msg` are what it answered.
    """

    code: str = ""
    sub_code: str = ""
    sub_msg: str = ""


class AlipayCertificateMismatch(AlipayConfigurationError):
    """A response signed with another Alipay certificate than ALIPAY_PUBLIC_CERT (rotation)."""

    def __init__(self, message: str, given: str, expected: str):
        super().__init__(message)
        self.given = given
        self.expected = expected


class AlipayBusinessError(AlipayError):
    """A signed answer with code != 10000 (code, msg, sub_code, sub_msg as Alipay sent them)."""

    sub_code_matches: tuple[str, ...] = ()

    def __init__(self, code: str, msg: str, sub_code: str = "", sub_msg: str = "", response=None):
        super().__init__(f"{code} {msg}: {sub_code} {sub_msg}".strip())
        self.code = code
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.response = response or {}


class TradeNotExist(AlipayBusinessError):
    sub_code_matches = ("ACQ.TRADE_NOT_EXIST",)


class TradeStatusError(AlipayBusinessError):
    sub_code_matches = ("ACQ.TRADE_STATUS_ERROR",)


class TradeHasFinished(AlipayBusinessError):
    sub_code_matches = ("ACQ.TRADE_HAS_FINISHED",)


class RefundAmountError(AlipayBusinessError):
    sub_code_matches = ("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",)


class DiscordantRepeatRequest(AlipayBusinessError):
    sub_code_matches = ("ACQ.DISCORDANT_REPEAT_REQUEST",)


class AlipaySystemError(AlipayBusinessError):
    """Alipay's own trouble (ACQ.SYSTEM_ERROR, code 20000): retry later with the same request."""

    sub_code_matches = ("ACQ.SYSTEM_ERROR", "isp.unknow-error", "aop.unknow-error")


class InvalidSignature(AlipayBusinessError):
    """The gateway refused our request's signature: a key or configuration problem."""

    sub_code_matches = ("isv.invalid-signature",)


class SellerBalanceNotEnough(AlipayBusinessError):
    """The merchant's balance cannot cover a refund: top up, then retry the same request."""

    sub_code_matches = ("ACQ.SELLER_BALANCE_NOT_ENOUGH",)


# Gateway-level codes (Alipay's public error codes): 20000 is Alipay's own trouble (retry);
# 20001 (tokens), 40001 (missing arguments), 40002 (invalid arguments: signature, app id,
# timestamp, certificate SNs) and 40006 (permissions) are our configuration: final.
CONFIGURATION_CODES = ("20001", "40001", "40002", "40006")


def gateway_level_error(method: str, node: dict) -> AlipayError:
    """An answer Alipay did not sign (the node, or `error_response`), classified.

    Configuration errors are final (AlipayConfigurationError, with Alipay's sub_code); Alipay's
    own trouble is retried (AlipaySystemError); anything else is unknown (AlipayGatewayError).
    """
    code = str(node.get("code", ""))
    sub_code = str(node.get("sub_code", ""))
    sub_msg = str(node.get("sub_msg", ""))
    text = f"{method}: Alipay answered {code} {node.get('msg', '')}: {sub_code} {sub_msg}".strip()
    if code in CONFIGURATION_CODES:
        hint = _HINTS.get(sub_code, "check the ALIPAY_* settings against the console")
        error = AlipayConfigurationError(f"{text} ({hint})")
        error.code, error.sub_code, error.sub_msg = code, sub_code, sub_msg
        return error
    if code == "20000":
        return AlipaySystemError(code, str(node.get("msg", "")), sub_code, sub_msg, node)
    return AlipayGatewayError(f"{text} (unsigned, outcome unknown)")


_HINTS = {
    "isv.invalid-signature": "ALIPAY_APP_PRIVATE_KEY does not match the application public key "
    "(or certificate) set in Alipay's console",
    "isv.invalid-app-id": "ALIPAY_APP_ID is not an application of this gateway (sandbox ids "
    "belong to the sandbox gateway)",
    "isv.invalid-timestamp": "this server's clock or time zone is off (timestamps are Beijing "
    "time)",
    "isv.app-cert-not-exist": "ALIPAY_APP_CERT is not the application certificate Alipay holds",
    "isv.invalid-alipay-root-cert-sn": "ALIPAY_ROOT_CERT is not Alipay's current root chain",
}


_BY_SUB_CODE = {
    sub_code: cls
    for cls in (
        TradeNotExist,
        TradeStatusError,
        TradeHasFinished,
        RefundAmountError,
        DiscordantRepeatRequest,
        AlipaySystemError,
        InvalidSignature,
        SellerBalanceNotEnough,
    )
    for sub_code in cls.sub_code_matches
}


def business_error(response: dict) -> AlipayBusinessError:
    code = str(response.get("code", ""))
    sub_code = str(response.get("sub_code", ""))
    cls = _BY_SUB_CODE.get(sub_code)
    if cls is None and code == "20000":
        cls = AlipaySystemError
    return (cls or AlipayBusinessError)(
        code, str(response.get("msg", "")), sub_code, str(response.get("sub_msg", "")), response
    )
