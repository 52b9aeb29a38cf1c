"""Order ids: also Alipay's out_trade_no, so letters and digits only and at most 64 characters.

A UTC timestamp (readable, sorts by time) followed by the user id and 40 random bits: two
orders of one user in the same second differ in the random part; the primary key catches the
astronomically unlikely rest.
"""

import secrets
from datetime import datetime

from shared.time import now_utc


def new_order_id(user_id: int, now: datetime | None = None) -> str:
    now = now or now_utc()
    return f"{now:%Y%m%d%H%M%S}{user_id:06d}{secrets.token_hex(5)}"
