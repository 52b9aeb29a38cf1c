"""Alipay speaks Beijing time (UTC+8) as `yyyy-MM-dd HH:mm:ss`; we keep aware UTC datetimes."""

from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
ALIPAY_FORMAT = "%Y-%m-%d %H:%M:%S"


def now() -> datetime:
    return datetime.now(UTC)


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime(ALIPAY_FORMAT)


def beijing_ms(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss.SSS`, as Alipay writes gmt_refund in a refund notify."""
    local = moment.astimezone(BEIJING)
    return local.strftime(ALIPAY_FORMAT) + f".{local.microsecond // 1000:03d}"


def parse_beijing(text: str, formats: tuple[str, ...] = (ALIPAY_FORMAT,)) -> datetime:
    """A Beijing wall-clock time as an aware datetime; ValueError when the text is not one."""
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    raise ValueError(f"not a time in {' or '.join(formats)}: {text!r}")
