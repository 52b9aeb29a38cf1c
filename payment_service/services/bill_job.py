"""reconcile-bill as a daily job inside the service (PAYMENT_BILL_RECONCILE_AT, off by default).

Once a day, at the configured Beijing time or the first check after it, yesterday's (Beijing)
bill is reconciled as `python -m payment_service reconcile-bill` does it. A failed run (Alipay
has no bill yet, the gateway is down) is tried again at the next check. Every replica runs it
(once a day per process): a run replaces the day's mismatches, so a repeat changes nothing.
"""

from datetime import date, datetime, time, timedelta

import structlog

from payment_service import metrics
from payment_service.services.bill import reconcile_bill
from payment_service.services.runtime import Runtime
from shared.alipay_wire import BEIJING
from shared.time import now_utc

log = structlog.get_logger(__name__)

CHECK_SECONDS = 60.0


def parse_at(text: str) -> time | None:
    """`HH:MM` (Beijing), or None for off."""
    if not text:
        return None
    return time.fromisoformat(text)


class DailyBill:
    def __init__(self, rt: Runtime, at: time):
        self.rt = rt
        self.at = at
        self.done_on: date | None = None  # the Beijing day whose run has succeeded

    def due(self, now: datetime) -> date | None:
        """The bill day to reconcile now (yesterday, Beijing), or None."""
        local = now.astimezone(BEIJING)
        if local.time() < self.at or self.done_on == local.date():
            return None
        return local.date() - timedelta(days=1)

    async def run_if_due(self, now: datetime | None = None) -> None:
        now = now or now_utc()
        day = self.due(now)
        if day is None:
            return
        try:
            found = await reconcile_bill(self.rt, day)
        except Exception:
            metrics.BILL_RUNS.labels(result="failed").inc()
            raise  # logged by the loop; tried again at the next check
        self.done_on = now.astimezone(BEIJING).date()
        metrics.BILL_RUNS.labels(result="mismatches" if found else "agrees").inc()
        log.info("bill_job_done", bill_date=str(day), mismatches=len(found))
