"""What the flows need at run time: settings, the database, the Alipay and order-service clients."""

from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from payment_service.alipay import AlipayClient
from payment_service.domain.notify import NotifyChecks
from payment_service.settings import PaymentSettings
from shared.ratelimit import MemoryRateCounter


@dataclass
class Runtime:
    settings: PaymentSettings
    engine: AsyncEngine
    sessions: async_sessionmaker
    alipay: AlipayClient
    order_service: httpx.AsyncClient
    # unverified notifies stored this minute, per process (payment_service/services/notify.py)
    unverified_notifies: MemoryRateCounter = field(default_factory=MemoryRateCounter)

    @property
    def notify_checks(self) -> NotifyChecks:
        return NotifyChecks(self.settings.alipay_app_id, self.settings.alipay_seller_id)
