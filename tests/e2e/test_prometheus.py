"""Debian's Prometheus against the running services, with deploy/prometheus's scrape config
(targets pointed at this test's processes) and alert rules, read through its HTTP API.

Targets are up; an order placed shows in the rate of `order_placed_total` and in the checkout
latency histogram; every alert rule is loaded and evaluates without error; every panel of the
Grafana dashboard is a query Prometheus answers.
"""

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.conftest import start_stack
from tests.support.processes import LOG_DIR, ROOT, free_port
from tests.support.stack import eventually

pytestmark = pytest.mark.e2e

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
CHECKOUT = 'job="order-service",method="POST",route="/api/orders"'


@pytest.fixture(scope="module")
async def stack(pg_databases, tmp_path_factory):
    running = await start_stack(pg_databases, tmp_path_factory)
    yield running
    await running.close()


def prometheus_config(stack, workdir: Path) -> Path:
    """deploy/prometheus/prometheus.yml with the test's targets and a 1 s scrape interval."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
    hosts = {"order-service": stack.order, "payment-service": stack.payment}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{hosts[job['job_name']].port}"]}]
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_prometheus(config: Path, workdir: Path) -> tuple[subprocess.Popen, int, Path]:
    """Debian's prometheus (installed when missing; a failed install fails the test)."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "ensure-prometheus.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, f"cannot install Debian's prometheus:\n{result.stderr}"
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"prometheus-{port}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                "/usr/bin/prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, port, log_path


@pytest.fixture(scope="module")
async def prometheus(stack, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prometheus")
    process, port, log_path = await asyncio.to_thread(
        start_prometheus, prometheus_config(stack, workdir), workdir
    )
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)

    async def ready():
        assert process.poll() is None, log_path.read_text()[-3000:]
        try:
            return (await client.get("/-/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        await eventually(ready, 60, "Prometheus ready", interval=0.5)
        yield client
    finally:
        await client.aclose()
        process.terminate()
        await asyncio.to_thread(process.wait, 30)


async def query(prometheus, expr: str) -> list[dict]:
    response = await prometheus.get("/api/v1/query", params={"query": expr})
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    return body["data"]["result"]


async def scalar(prometheus, expr: str) -> float | None:
    result = await query(prometheus, expr)
    return float(result[0]["value"][1]) if result else None


async def test_targets_are_up(prometheus):
    async def all_up():
        body = (await prometheus.get("/api/v1/targets")).json()
        targets = body["data"]["activeTargets"]
        jobs = {t["labels"]["job"]: t["health"] for t in targets}
        return jobs if jobs == {"order-service": "up", "payment-service": "up"} else None

    await eventually(all_up, 60, "both services' targets up", interval=0.5)


async def test_an_order_shows_in_the_rate_of_orders_and_the_checkout_histogram(stack, prometheus):
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 4")

    async def scraped_orders():
        return await scalar(prometheus, 'sum(order_placed_total{job="order-service"})')

    # A counter's first sample is where its rate starts: the first order makes the series,
    # Prometheus scrapes it, and the orders after it are what the rate shows.
    await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])
    first = await eventually(scraped_orders, 60, "order_placed_total scraped", interval=0.5)
    for _ in range(3):
        await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])

    async def rate_moved():
        value = await scalar(
            prometheus, 'sum(increase(order_placed_total{job="order-service"}[1m]))'
        )
        return value if value and value > 0 else None

    await eventually(rate_moved, 60, "the rate of order_placed_total to rise", interval=0.5)
    assert await scalar(prometheus, 'sum(rate(order_placed_total{job="order-service"}[1m]))') > 0
    total = await eventually(
        lambda: _at_least(prometheus, 'sum(order_placed_total{job="order-service"})', first + 3),
        60,
        "all four orders scraped",
        interval=0.5,
    )
    assert total >= first + 3

    # the same orders in the checkout latency histogram, by route template
    async def timed():
        value = await scalar(
            prometheus, f"sum(increase(http_request_duration_seconds_count{{{CHECKOUT}}}[1m]))"
        )
        return value if value and value > 0 else None

    await eventually(timed, 60, "POST /api/orders in the latency histogram", interval=0.5)
    p99 = await scalar(
        prometheus,
        "histogram_quantile(0.99, sum by (le) "
        f"(rate(http_request_duration_seconds_bucket{{{CHECKOUT}}}[1m])))",
    )
    assert p99 is not None and 0 < p99 <= 10


async def _at_least(prometheus, expr: str, least: float) -> float | None:
    value = await scalar(prometheus, expr)
    return value if value is not None and value >= least else None


async def test_every_alert_rule_is_loaded_and_evaluates(prometheus):
    expected = {
        rule["alert"]
        for group in yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }

    async def evaluated():
        body = (await prometheus.get("/api/v1/rules", params={"type": "alert"})).json()
        rules = {r["name"]: r for g in body["data"]["groups"] for r in g["rules"]}
        done = set(rules) == expected and all(
            r["health"] == "ok" and not r["lastEvaluation"].startswith("0001")
            for r in rules.values()
        )
        return rules if done else None

    rules = await eventually(evaluated, 60, "every alert rule evaluated", interval=0.5)
    bad = {name: r.get("lastError") for name, r in rules.items() if r["health"] != "ok"}
    assert not bad
    # the services are healthy: nothing fires that should not
    firing = {name for name, r in rules.items() if r["state"] == "firing"}
    assert firing <= {"StockContention"}, firing


async def test_every_dashboard_panel_is_a_query_prometheus_answers(prometheus):
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "alipay-shop.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            await query(prometheus, target["expr"])  # asserts status success
