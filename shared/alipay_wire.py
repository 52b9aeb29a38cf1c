"""How values look on Alipay's wire, said once for our client and the emulator alike.

- Times: `yyyy-MM-dd HH:mm:ss`, Beijing time (UTC+8), whatever the server's own zone; a refund
  notify's `gmt_refund` has milliseconds.
- Amounts: yuan with at most two decimals, in [0.01, 100000000]; we send exactly two, as text.
- Subjects: at most 256 characters, without `/`, `=` and `&`, which Alipay forbids.
- The signed part of a server answer is the raw text of its `<method>_response` node
  (`shared.alipay_sign.extract_response_content`).
"""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000")

SUBJECT_LIMIT = 256
SUBJECT_FORBIDDEN = "/=&"


def beijing(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss` in Beijing time; refuses a naive datetime."""
    if moment.tzinfo is None:
        raise ValueError("an Alipay time needs an aware datetime")
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


def beijing_ms(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss.SSS`, as Alipay writes gmt_refund in a refund notify."""
    local = moment.astimezone(BEIJING)
    return local.strftime(TIME_FORMAT) + f".{local.microsecond // 1000:03d}"


def parse_beijing(text: str, formats: tuple[str, ...] = (TIME_FORMAT,)) -> datetime:
    """A Beijing wall-clock time as an aware datetime (in UTC); ValueError when it is not one."""
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=BEIJING).astimezone(UTC)
        except ValueError:
            continue
    raise ValueError(f"not a time in {' or '.join(formats)}: {text!r}")


def amount_in_range(value: Decimal) -> bool:
    return (
        value.is_finite()
        and value == value.quantize(MIN_AMOUNT)
        and (MIN_AMOUNT <= value <= MAX_AMOUNT)
    )


def clean_subject(subject: str) -> str:
    """What Alipay accepts as a subject: the forbidden characters become spaces, runs of
    whitespace one space, and the text is cut to the limit (never empty)."""
    for char in SUBJECT_FORBIDDEN:
        subject = subject.replace(char, " ")
    subject = " ".join(subject.split())[:SUBJECT_LIMIT].rstrip()
    return subject or "order"
