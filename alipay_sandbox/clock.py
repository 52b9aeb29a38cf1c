"""Alipay speaks Beijing time (UTC+8) as `yyyy-MM-dd HH:mm:ss`; we keep aware UTC datetimes."""

from shared.alipay_wire import BEIJING, beijing, beijing_ms, parse_beijing
from shared.alipay_wire import TIME_FORMAT as ALIPAY_FORMAT

__all__ = ["ALIPAY_FORMAT", "BEIJING", "beijing", "beijing_ms", "parse_beijing"]
