"""Alipay speaks Beijing time (UTC+8) as `yyyy-MM-dd HH:mm:ss`; we keep aware UTC datetimes."""

from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
ALIPAY_FORMAT = "%Y-%m-%d %H:%M:%S"


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime(ALIPAY_FORMAT)


def parse_beijing(text: str, formats: tuple[str, ...] = (ALIPAY_FORMAT,)) -> datetime:
    """A Beijing wall-clock time as an aware datetime; ValueError when the text is not one."""
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    raise ValueError(f"not a time in {' or '.join(formats)}: {text!r}")
