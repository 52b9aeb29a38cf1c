"""Docker does not run here, so the deployment files are checked as documents: the compose file
parses, runs the contract's commands, gives every service every setting the contract names for
it, checks health, and migrates before any service starts."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"

# The contract's configuration table (plus the team's documented extras), by service.
CONTRACT_ENV = {
    "order": {
        "SERVICE_AUTH_SECRET",
        "ORDER_DATABASE_URL",
        "ORDER_REDIS_URL",
        "ORDER_PAYMENT_SERVICE_URL",
        "ORDER_JWT_SECRET",
        "ORDER_PAY_TIMEOUT_SECONDS",
        "ORDER_FREIGHT",
    },
    "payment": {
        "SERVICE_AUTH_SECRET",
        "PAYMENT_DATABASE_URL",
        "PAYMENT_ORDER_SERVICE_URL",
        "PAYMENT_PUBLIC_URL",
        "PAYMENT_SPA_RESULT_URL",
        "ALIPAY_APP_ID",
        "ALIPAY_APP_PRIVATE_KEY",
        "ALIPAY_PUBLIC_KEY",
        "ALIPAY_GATEWAY_URL",
        "ALIPAY_SIGN_TYPE",
        "ALIPAY_SELLER_ID",
    },
    "sandbox": {
        "SANDBOX_PRIVATE_KEY",
        "SANDBOX_APP_ID",
        "SANDBOX_APP_PUBLIC_KEY",
        "SANDBOX_SELLER_ID",
    },
}
EXTRA_ENV = {
    "order": {
        "APP_ENV",
        "LOG_JSON",
        "ORDER_SWEEP_INTERVAL_SECONDS",
        "ORDER_PAYMENT_TIMEOUT_SECONDS",
    },
    "payment": {
        "APP_ENV",
        "LOG_JSON",
        "PAYMENT_RELAY_INTERVAL_SECONDS",
        "PAYMENT_RECONCILE_INTERVAL_SECONDS",
        "PAYMENT_RECONCILE_AFTER_SECONDS",
        "ALIPAY_SANDBOX",
    },
    "sandbox": {"SANDBOX_PUBLIC_URL", "SANDBOX_NOTIFY_SCALE"},
}
APPS = {
    "order": "order_service.main:app",
    "payment": "payment_service.main:app",
    "sandbox": "alipay_sandbox.main:app",
}
PORTS = {"order": 8000, "payment": 8001, "sandbox": 8002}
LONG_RUNNING = ["postgres", "redis", "order", "payment", "sandbox"]
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ${VAR:-default} / ${VAR:?error}, with `given` as the .env file."""

    def replace(match: re.Match) -> str:
        name, kind, rest = match.groups()
        if name in given:
            return given[name]
        if kind == "-":
            return rest
        if kind == "?":
            raise KeyError(f"{name} is required: {rest}")
        return ""

    return INTERPOLATION.sub(replace, value).replace("$$", "$")


@pytest.fixture(scope="module")
def services() -> dict:
    document = yaml.safe_load(COMPOSE.read_text())
    return document["services"]


SECRETS = {"SERVICE_AUTH_SECRET": "s" * 32, "ORDER_JWT_SECRET": "j" * 32}


def env_of(service: dict, given: dict[str, str] | None = None) -> dict[str, str]:
    given = given or SECRETS
    return {k: interpolate(str(v), given) for k, v in service.get("environment", {}).items()}


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def test_the_compose_file_has_the_whole_system(services):
    assert {"postgres", "redis", "migrate", "order", "payment", "sandbox"} <= set(services)


@pytest.mark.parametrize("name", list(APPS))
def test_each_service_runs_the_contract_command_on_its_port(services, name):
    command = command_of(services[name])
    assert command.startswith(f"uvicorn {APPS[name]} "), command
    assert f"--port {PORTS[name]}" in command
    assert "--host 0.0.0.0" in command
    published = [str(p) for p in services[name].get("ports", [])]
    assert any(p.endswith(f":{PORTS[name]}") for p in published), published


@pytest.mark.parametrize("name", list(CONTRACT_ENV))
def test_each_service_gets_every_setting_the_contract_names_for_it(services, name):
    env = env_of(services[name])
    missing = (CONTRACT_ENV[name] | EXTRA_ENV[name]) - set(env)
    assert not missing, f"{name} lacks {sorted(missing)}"


def test_services_get_no_settings_of_another_service(services):
    prefixes = {"order": ("ORDER_",), "payment": ("PAYMENT_", "ALIPAY_"), "sandbox": ("SANDBOX_",)}
    for name in prefixes:
        others = tuple(p for other, ps in prefixes.items() if other != name for p in ps)
        foreign = [key for key in env_of(services[name]) if key.startswith(others)]
        assert not foreign, f"{name} is given {foreign}"


def test_secrets_must_be_supplied_and_are_shared(services):
    for name in ("order", "payment", "migrate"):
        with pytest.raises(KeyError, match="SERVICE_AUTH_SECRET"):
            env_of(services[name], given={"ORDER_JWT_SECRET": "j" * 32})
    assert (
        env_of(services["order"])["SERVICE_AUTH_SECRET"]
        == env_of(services["payment"])["SERVICE_AUTH_SECRET"]
    )
    assert env_of(services["order"])["APP_ENV"] == "production"


def test_the_services_address_each_other_where_they_listen(services):
    order, payment, sandbox = (env_of(services[n]) for n in ("order", "payment", "sandbox"))
    assert order["ORDER_PAYMENT_SERVICE_URL"] == "http://payment:8001"
    assert payment["PAYMENT_ORDER_SERVICE_URL"] == "http://order:8000"
    assert order["ORDER_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in order["ORDER_DATABASE_URL"]
    assert payment["PAYMENT_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in payment["PAYMENT_DATABASE_URL"]
    assert order["ORDER_DATABASE_URL"] != payment["PAYMENT_DATABASE_URL"]
    assert order["ORDER_REDIS_URL"].startswith("redis://redis:6379")
    # Browser-facing addresses must be reachable both from the host and inside the network.
    assert payment["ALIPAY_GATEWAY_URL"] == f"{sandbox['SANDBOX_PUBLIC_URL']}/gateway.do"
    sandbox_host = sandbox["SANDBOX_PUBLIC_URL"].split("//")[1].split(":")[0]
    payment_host = payment["PAYMENT_PUBLIC_URL"].split("//")[1].split(":")[0]
    assert sandbox_host in services["sandbox"]["networks"]["default"]["aliases"]
    assert payment_host in services["payment"]["networks"]["default"]["aliases"]
    assert payment["PAYMENT_SPA_RESULT_URL"].startswith("http://localhost:8000")
    # …and the host port in each browser-facing address is the one published for it.
    for name, url in (
        ("order", payment["PAYMENT_SPA_RESULT_URL"]),
        ("payment", payment["PAYMENT_PUBLIC_URL"]),
        ("sandbox", sandbox["SANDBOX_PUBLIC_URL"]),
    ):
        host_port = int(url.split("//")[1].split("/")[0].split(":")[1])
        assert f"{host_port}:{PORTS[name]}" in [str(p) for p in services[name]["ports"]], name


def test_the_emulator_and_the_payment_service_hold_matching_keys(services):
    payment, sandbox = env_of(services["payment"]), env_of(services["sandbox"])
    assert payment["ALIPAY_APP_ID"] == sandbox["SANDBOX_APP_ID"]
    assert payment["ALIPAY_SELLER_ID"] == sandbox["SANDBOX_SELLER_ID"]
    app_dir = Path(payment["ALIPAY_APP_PRIVATE_KEY"]).parent
    assert Path(sandbox["SANDBOX_APP_PUBLIC_KEY"]).parent == app_dir
    alipay_dir = Path(sandbox["SANDBOX_PRIVATE_KEY"]).parent
    assert Path(payment["ALIPAY_PUBLIC_KEY"]).parent == alipay_dir
    assert app_dir != alipay_dir
    keygen = command_of(services["keys"])
    assert "python -m payment_service keygen" in keygen


def test_the_emulator_is_for_development_only(services):
    """Issue 10, item 10: the emulator ran in production, trusted by a production payment
    service, so anyone could pay with POST /sandbox/trades/{id}/pay."""
    from payment_service.settings import PaymentSettings

    assert services["sandbox"]["profiles"] == ["dev"]
    assert env_of(services["sandbox"])["APP_ENV"] == "development"
    assert [name for name, service in services.items() if "profiles" in service] == ["sandbox"]
    payment = env_of(services["payment"])
    assert payment["APP_ENV"] == "production"
    assert payment["ALIPAY_SANDBOX"] == "false"
    # on compose's defaults (the emulator's gateway) production refuses to start…
    with pytest.MonkeyPatch.context() as patch:
        for name, value in payment.items():
            patch.setenv(name, value)
        with pytest.raises(ValueError, match="not Alipay's gateway.*ALIPAY_SANDBOX=true"):
            PaymentSettings(_env_file=None)
        # …until .env says this deployment is a sandbox (the quick start's line)
        sandbox = env_of(services["payment"], {**SECRETS, "ALIPAY_SANDBOX": "true"})
        patch.setenv("ALIPAY_SANDBOX", sandbox["ALIPAY_SANDBOX"])
        assert PaymentSettings(_env_file=None).alipay_sandbox
    quick_start = COMPOSE.read_text().split("\n\n", 1)[0]
    assert 'echo "COMPOSE_PROFILES=dev" >> .env' in quick_start
    assert 'echo "ALIPAY_SANDBOX=true" >> .env' in quick_start


def test_no_service_believes_forwarded_headers_from_anyone(services):
    """`--forwarded-allow-ips *` let any client set its address (the rate limits' key) and
    scheme; uvicorn now reads FORWARDED_ALLOW_IPS, loopback unless set."""
    for name in ("order", "payment", "sandbox"):
        assert "--forwarded-allow-ips" not in command_of(services[name]), name
    for name in ("order", "payment"):
        assert env_of(services[name])["FORWARDED_ALLOW_IPS"] == "127.0.0.1", name
        given = env_of(services[name], {**SECRETS, "FORWARDED_ALLOW_IPS": "10.0.0.2"})
        assert given["FORWARDED_ALLOW_IPS"] == "10.0.0.2"
        assert env_of(services[name])["METRICS_PUBLIC"] == "false", name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "forwarded-allow-ips" not in dockerfile
    assert re.search(r"FORWARDED_ALLOW_IPS=127\.0\.0\.1\b", dockerfile)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_has_a_health_check(services, name):
    test = services[name].get("healthcheck", {}).get("test")
    assert test, f"{name} has no healthcheck"
    text = test if isinstance(test, str) else " ".join(test)
    expected = {"postgres": "pg_isready", "redis": "redis-cli ping"}.get(name, "/healthz")
    assert expected in text


def test_migrations_run_once_before_the_services_start(services):
    migrate = services["migrate"]
    command = command_of(migrate)
    assert "python -m order_service migrate" in command
    assert "python -m payment_service migrate" in command
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"
    migrate_env = env_of(migrate)
    assert {"ORDER_DATABASE_URL", "PAYMENT_DATABASE_URL"} <= set(migrate_env)
    assert migrate_env["ORDER_DATABASE_URL"] == env_of(services["order"])["ORDER_DATABASE_URL"]
    for name in ("order", "payment"):
        assert (
            services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )
    assert services["order"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_the_payment_database_is_created_next_to_the_order_database(services):
    document = yaml.safe_load(COMPOSE.read_text())
    init = document["configs"]["postgres-init"]["content"]
    payment_db = env_of(services["payment"])["PAYMENT_DATABASE_URL"].rsplit("/", 1)[1]
    order_db = env_of(services["order"])["ORDER_DATABASE_URL"].rsplit("/", 1)[1]
    assert f"CREATE DATABASE {payment_db};" in init
    assert services["postgres"]["environment"]["POSTGRES_DB"] == order_db


def test_the_image_is_slim_python_and_runs_as_a_plain_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)


def test_the_image_installs_the_built_wheel_not_the_source_tree():
    """Only the wheel holds what `pip install .` gives (migrations, storefront): an image made
    from the source tree could work where the wheel does not (tests/deploy/test_package.py)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    assert len(stages) >= 2, "a build stage and a final stage"
    build, final = stages[0], stages[-1]
    assert re.search(r"pip wheel .*--wheel-dir (\S+) \.", build)
    installs = re.findall(r"pip install (.*)", final)
    assert installs and all(".whl" in line for line in installs), installs
    assert not re.search(r"(-e|--editable)\b", " ".join(installs))
    assert not re.search(r"^COPY (\.|--\S+ \.) ", final, re.M), "the final stage copies the tree"
    assert re.search(r"^COPY scripts/demo-catalog\.json ", final, re.M)  # compose's load-catalog


def test_the_image_has_a_health_check_on_the_default_command():
    dockerfile = (ROOT / "Dockerfile").read_text()
    (check,) = re.findall(r"^HEALTHCHECK ((?:.*\\\n)*.*)", dockerfile, re.M)
    cmd = re.search(r"^CMD \[(.*)\]", dockerfile, re.M).group(1)
    port = re.search(r'"--port", "(\d+)"', cmd).group(1)
    assert f"127.0.0.1:{port}/healthz" in check
    assert "--timeout=" in check


@pytest.mark.parametrize(
    "module", ["order_service.main", "payment_service.main", "alipay_sandbox.main"]
)
def test_the_apps_the_compose_file_names_exist(module):
    path = ROOT / Path(*module.split(".")).with_suffix(".py")
    assert path.exists(), f"{path} is missing"
