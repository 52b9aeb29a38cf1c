"""Prometheus counters, defined once per process (several apps may live in one test process)."""

from prometheus_client import Counter, Gauge

NOTIFIES = Counter(
    "payment_notifies_total", "Alipay notifies received, by recorded outcome", ["outcome"]
)
NOTIFIES_UNSTORED = Counter(
    "payment_notifies_unstored_total",
    "Unverified notifies answered fail but not stored: over PAYMENT_UNVERIFIED_NOTIFIES_PER_MINUTE",
)
PAID = Counter("payment_paid_total", "Payments recorded as paid, by what told us", ["source"])
REFUNDS = Counter("payment_refunds_total", "Late-payment refunds settled", ["result"])
RELAY_DELIVERIES = Counter(
    "payment_relay_deliveries_total", "Outbox events settled by the relay", ["result"]
)
OUTBOX_PENDING = Gauge(
    "payment_outbox_pending",
    "Outbox events not yet delivered, as the last relay round counted them",
)
BILL_RUNS = Counter(
    "payment_bill_runs_total",
    "Daily bill reconciliations run inside the service, by result",
    ["result"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "payment_outbox_oldest_pending_age_seconds",
    "Age of the oldest outbox event not yet delivered (0 when none), as the last relay round saw",
)
RELAY_LAST_ROUND = Gauge(
    "payment_relay_last_round_timestamp_seconds",
    "When this process's relay last finished a round (Unix time): a stalled relay stops it",
)
BILL_MISMATCHES = Counter(
    "payment_bill_mismatches_total",
    "Differences between Alipay's daily trade bill and our records, by kind",
    ["kind"],
)
