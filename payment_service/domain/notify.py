"""Reading a notify body and checking it, with no I/O: each failure is a named outcome.

The body is parsed by hand rather than by the framework because Alipay's notify needs care the
generic parsers do not take: the charset is declared inside the body, a repeated key must be
refused (not silently last-one-wins), and values must be percent-decoded exactly once.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote_to_bytes

MAX_BODY_BYTES = 64 * 1024
# what an unverified notify keeps of its body: a real notify is 1-3 KB, so a forged copy of one
# is kept whole, and anything bigger is cut (its SHA-256 and size are of the whole)
UNVERIFIED_KEEP_BYTES = 4 * 1024
REQUIRED_FIELDS = ("sign", "app_id", "out_trade_no", "trade_no", "trade_status", "total_amount")


class NotifyRejected(Exception):
    """A notify we answer `fail` to; `outcome` is what the record says."""

    def __init__(self, outcome: str, detail: str = ""):
        super().__init__(detail or outcome)
        self.outcome = outcome


@dataclass(frozen=True)
class NotifyChecks:
    app_id: str
    seller_id: str  # empty: not checked


def parse_form(body: bytes) -> dict[str, str]:
    """application/x-www-form-urlencoded, decoded in the body's own `charset` (default utf-8)."""
    if len(body) > MAX_BODY_BYTES:
        raise NotifyRejected("oversized", f"body over {MAX_BODY_BYTES} bytes")
    raw_pairs: list[tuple[bytes, bytes]] = []
    for chunk in body.split(b"&"):
        if not chunk:
            continue
        quoted_key, _, quoted_value = chunk.partition(b"=")
        raw_pairs.append((_unquote(quoted_key), _unquote(quoted_value)))
    charset = _declared_charset(raw_pairs)
    params: dict[str, str] = {}
    for raw_key, raw_value in raw_pairs:
        try:
            key, value = raw_key.decode(charset), raw_value.decode(charset)
        except UnicodeDecodeError:
            raise NotifyRejected("bad_encoding", f"not valid {charset}") from None
        if "\x00" in key or "\x00" in value:
            # Alipay never sends NUL, and PostgreSQL text columns cannot hold it.
            raise NotifyRejected("bad_encoding", "NUL character")
        if key in params:
            raise NotifyRejected("repeated_key", f"{key!r} given twice")
        params[key] = value
    if not params:
        raise NotifyRejected("missing_fields", "empty body")
    return params


def _unquote(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def _declared_charset(pairs: list[tuple[bytes, bytes]]) -> str:
    declared = [value for key, value in pairs if key == b"charset"]
    name = declared[0].decode("ascii", "replace").strip().lower() if declared else "utf-8"
    if name not in ("utf-8", "utf8", "gbk", "gb2312", "gb18030"):
        raise NotifyRejected("bad_encoding", f"unsupported charset {name!r}")
    return name


def check_fields(params: dict[str, str]) -> None:
    missing = [name for name in REQUIRED_FIELDS if not params.get(name)]
    if missing:
        raise NotifyRejected("missing_fields", ", ".join(missing))


def check_merchant(params: dict[str, str], checks: NotifyChecks) -> None:
    if params.get("app_id") != checks.app_id:
        raise NotifyRejected("wrong_app_id")
    if checks.seller_id and params.get("seller_id") != checks.seller_id:
        raise NotifyRejected("wrong_seller_id")


def check_amount(params: dict[str, str], expected: Decimal) -> None:
    """Exactly the payment's amount, compared as Decimal ("12.00" == 12.00, "12.01" != 12.00)."""
    try:
        given = Decimal(params["total_amount"])
    except (InvalidOperation, ValueError):
        raise NotifyRejected("amount_mismatch", "total_amount is not a number") from None
    if not given.is_finite() or given != expected:
        raise NotifyRejected("amount_mismatch", f"{params['total_amount']} != {expected}")
