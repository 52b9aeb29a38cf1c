"""Prometheus counters, defined once per process (several apps may live in one test process)."""

from prometheus_client import Counter

ORDERS_PLACED = Counter("order_placed_total", "Orders placed", ["pay_method"])
STOCK_CONTENTION = Counter(
    "order_stock_contention_total", "Checkouts given up after the bounded stock retries"
)
ORDERS_CANCELED = Counter("order_canceled_total", "Orders cancelled", ["reason"])
PAYMENT_EVENTS = Counter("order_payment_events_total", "Payment events received", ["result"])
