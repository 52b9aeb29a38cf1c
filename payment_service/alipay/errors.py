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

    Final and loud: a person must fix the settings. The message says what to change.
    """


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
