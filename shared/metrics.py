"""Prometheus metrics every service serves beside its business counters on `/metrics/`.

- `HttpMetricsMiddleware` (pure ASGI, outermost): `http_requests_total{method,route,status}`,
  `http_request_duration_seconds{method,route}` (histogram) and `http_requests_in_progress`.
  `route` is the route's template (`/api/orders/{order_id}`), never the raw path, so the number
  of series stays bounded whatever clients send: a path no route matches (or a request a
  middleware refused before routing) is `unmatched`, the storefront's static files are `static`.
- `track_pool(name, engine)`: `db_pool_connections_in_use{pool}`, `db_pool_connections_waiting
  {pool}` (checkouts waiting for a connection), `db_pool_size{pool}` and `db_pool_max{pool}`
  (size + overflow), read at scrape time from SQLAlchemy's pool; `untrack_pool` on dispose.

`MetricsEndpoint` serves them at `/metrics/` where the service's settings say they are public
(`METRICS_PUBLIC`; unset: everywhere but production), and answers 404 elsewhere.

Metrics are per process (prometheus-client's default registry): with `uvicorn --workers N`
each worker is its own target behind the same port, so run one worker per pod (Kubernetes) or
scrape each process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_asgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.errors import problem_response

# Latency buckets from 5 ms to 10 s: checkout is ~10-50 ms on this hardware, the p99 alert
# fires at 1 s, timeouts of calls to Alipay are 10 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template",
    ["method", "route"],
    buckets=BUCKETS,
)
IN_PROGRESS = Gauge("http_requests_in_progress", "HTTP requests being served now")


def route_label(scope: dict) -> str:
    """The template of the route that served `scope` (Starlette puts the route in the scope)."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    path = getattr(route, "path", None)
    if not path:  # a Mount at "/" (the storefront)
        return "static"
    return path


class HttpMetricsMiddleware:
    """Counts and times every HTTP request; the labels' children are cached, so a request costs
    two clock reads, one gauge up and down, and two dictionary look-ups."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception that escapes the app is answered 500 by the server

        async def send_with_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        IN_PROGRESS.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed = time.perf_counter() - started
            IN_PROGRESS.dec()
            self._observe(scope["method"], route_label(scope), status, elapsed)

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method, route)
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self._histograms[key] = LATENCY.labels(method, route)
        histogram.observe(elapsed)
        counter_key = (method, route, str(status))
        counter = self._counters.get(counter_key)
        if counter is None:
            counter = self._counters[counter_key] = REQUESTS.labels(*counter_key)
        counter.inc()


class MetricsEndpoint:
    """The Prometheus exposition (mounted at /metrics), or 404 `not_found` when `is_public(scope)`
    says the service's metrics are not public (production, unless METRICS_PUBLIC=true)."""

    def __init__(self, is_public: Callable[[dict], bool]) -> None:
        self.exposition = make_asgi_app()
        self.is_public = is_public

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not self.is_public(scope):
            response = problem_response(404, "not_found", "Not Found")
            await response(scope, receive, send)
            return
        await self.exposition(scope, receive, send)


class _PoolCollector(Collector):
    def __init__(self) -> None:
        self.pools: dict[str, Any] = {}

    def collect(self) -> Iterable[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "db_pool_connections_in_use", "Connections checked out of the pool", labels=["pool"]
        )
        waiting = GaugeMetricFamily(
            "db_pool_connections_waiting",
            "Checkouts waiting for a connection (the pool and its overflow are all in use)",
            labels=["pool"],
        )
        size = GaugeMetricFamily("db_pool_size", "Connections the pool keeps", labels=["pool"])
        most = GaugeMetricFamily(
            "db_pool_max", "Connections the pool may open (size + overflow)", labels=["pool"]
        )
        for name, pool in list(self.pools.items()):
            if not hasattr(pool, "checkedout"):  # SQLite's pools keep no count
                continue
            in_use.add_metric([name], pool.checkedout())
            waiting.add_metric([name], _waiting(pool))
            size.add_metric([name], pool.size())
            most.add_metric([name], pool.size() + max(getattr(pool, "_max_overflow", 0), 0))
        yield from (in_use, waiting, size, most)


def _waiting(pool: Any) -> int:
    """Tasks blocked in the pool's asyncio queue (SQLAlchemy's AsyncAdaptedQueue keeps an
    asyncio.Queue; tests/shared/test_metrics.py holds this to a real pool)."""
    queue = getattr(getattr(pool, "_pool", None), "__dict__", {}).get("_queue")
    getters = getattr(queue, "_getters", None) or ()
    return sum(1 for getter in getters if not getter.done())


_POOLS = _PoolCollector()
REGISTRY.register(_POOLS)


def track_pool(name: str, engine: Any) -> None:
    """Report `engine`'s pool as `pool=name` until `untrack_pool(name)`."""
    _POOLS.pools[name] = engine.sync_engine.pool


def untrack_pool(name: str) -> None:
    _POOLS.pools.pop(name, None)
