"""deploy/prometheus and deploy/grafana, checked with Debian's Prometheus tools (installed by
scripts/ensure-prometheus.sh when missing; a failed install fails these tests, never skips).

`promtool check config` on both scrape configs, `promtool check rules`, and `promtool test
rules` on alerts_test.yml, where every alert must fire once and stay quiet once; every metric
an alert or a dashboard panel reads is one our services export."""

import json
import re
import subprocess

import pytest
import yaml

from tests.support.processes import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "alipay-shop.json"
REQUIRED_ALERTS = {
    "RefundFailed",
    "OutboxBacklogGrowing",
    "NotifiesRejected",
    "StockContention",
    "HighErrorRatio",
    "ReadinessFailing",
    "CheckoutLatencyHigh",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    result = subprocess.run(
        [str(ROOT / "scripts" / "ensure-prometheus.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, f"cannot install Debian's prometheus:\n{result.stderr}"
    return "/usr/bin/promtool"


def run(*args: str) -> str:
    result = subprocess.run(args, cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def exported_metrics() -> set[str]:
    """Every metric name our services expose (their modules register them on import)."""
    from prometheus_client import REGISTRY

    import order_service.metrics  # noqa: F401
    import payment_service.metrics  # noqa: F401
    import shared.metrics  # noqa: F401

    names = set()
    for family in REGISTRY.collect():
        names.update(sample.name for sample in family.samples)
        names.add(family.name)
        # series of labelled metrics that have no child yet
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
    return names | {"up"}


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression reads (identifiers followed by `{` or `[` or space)."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    found = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?=[{\[])", without_strings))
    return {name for name in found if name not in {"by", "without", "on", "ignoring"}}


def test_the_scrape_configs_and_rules_are_valid(promtool):
    assert "SUCCESS" in run(promtool, "check", "config", "prometheus.yml")
    assert "SUCCESS" in run(promtool, "check", "config", "prometheus-kubernetes.yml")
    assert "SUCCESS: 9 rules found" in run(promtool, "check", "rules", "alerts.yml")


def test_every_alert_rule_passes_its_unit_tests(promtool):
    assert "SUCCESS" in run(promtool, "test", "rules", "tests/alerts_test.yml")


def test_every_alert_is_tested_firing_and_quiet():
    tests = yaml.safe_load((PROMETHEUS / "tests" / "alerts_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    names = {rule["alert"] for rule in alert_rules()}
    assert names >= REQUIRED_ALERTS
    for name in names:
        assert any(c["alertname"] == name and c["exp_alerts"] for c in cases), f"{name} never fires"
        assert any(c["alertname"] == name and not c["exp_alerts"] for c in cases), (
            f"{name} is never shown to stay quiet"
        )


def test_alerts_and_dashboard_read_only_metrics_we_export():
    exported = exported_metrics()
    for rule in alert_rules():
        unknown = metric_names(rule["expr"]) - exported
        assert not unknown, f"{rule['alert']} reads {unknown}, which no service exports"
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            unknown = metric_names(target["expr"]) - exported
            assert not unknown, f"panel {panel['title']!r} reads {unknown}"


def test_the_metric_name_check_can_tell():
    assert metric_names('sum(rate(order_placd_total{a="b"}[5m]))') == {"order_placd_total"}
    assert "order_placd_total" not in exported_metrics()
