"""The whole stack on one machine, on embedded defaults: `make run`.

Under var/ it makes what is missing (dev keys for the app and for the emulator, dev secrets),
migrates the databases (SQLite unless told otherwise), loads the demo catalog once per database,
starts the order service, the payment service and the Alipay emulator as uvicorn processes,
waits for their /healthz and prints the storefront's address. Ctrl-C, SIGTERM or SIGHUP (the
terminal closing) stops all three; if one of them dies, the others are stopped too.

Environment it honours (everything else from the contract is honoured too when set):
  ORDER_DATABASE_URL, PAYMENT_DATABASE_URL   default: SQLite files under the var directory
  ORDER_REDIS_URL                            default: memory:// (in-process cart store)
  RUN_VAR_DIR                                default: var/ in the repository
  RUN_HOST                                   default: 127.0.0.1
  RUN_ORDER_PORT, RUN_PAYMENT_PORT, RUN_SANDBOX_PORT   default: 8000, 8001, 8002
  RUN_CATALOG                                default: scripts/demo-catalog.json
"""

import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
STOP_TIMEOUT_SECONDS = 15
HEALTH_TIMEOUT_SECONDS = 60
DEV_APP_ID = "2021000000000001"
DEV_SELLER_ID = "2088000000000001"


@dataclass(frozen=True)
class Layout:
    var_dir: Path
    host: str
    order_port: int
    payment_port: int
    sandbox_port: int
    catalog: Path

    @classmethod
    def from_env(cls) -> "Layout":
        return cls(
            var_dir=Path(os.environ.get("RUN_VAR_DIR", ROOT / "var")).resolve(),
            host=os.environ.get("RUN_HOST", "127.0.0.1"),
            order_port=int(os.environ.get("RUN_ORDER_PORT", 8000)),
            payment_port=int(os.environ.get("RUN_PAYMENT_PORT", 8001)),
            sandbox_port=int(os.environ.get("RUN_SANDBOX_PORT", 8002)),
            catalog=Path(os.environ.get("RUN_CATALOG", ROOT / "scripts" / "demo-catalog.json")),
        )

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


def log(message: str) -> None:
    print(f"[run_stack] {message}", flush=True)


def ensure_key_pair(directory: Path) -> tuple[Path, Path]:
    """An RSA-2048 pair made by the payment service's own `keygen` when it is not there yet."""
    private, public = directory / "app_private_key.pem", directory / "app_public_key.pem"
    if not (private.exists() and public.exists()):
        log(f"generating a dev key pair in {directory}")
        run_step([PYTHON, "-m", "payment_service", "keygen", str(directory)], dict(os.environ))
    return private, public


def ensure_dev_secrets(var_dir: Path) -> dict[str, str]:
    """Random secrets kept in var/, so tokens stay valid across restarts of the quick start."""
    path = var_dir / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "SERVICE_AUTH_SECRET": secrets.token_urlsafe(32),
        "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
    }
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


def stack_env(layout: Layout) -> dict[str, str]:
    """One consistent configuration for the three services; variables already set win."""
    var = layout.var_dir
    app_private, app_public = ensure_key_pair(var / "keys" / "app")
    sandbox_private, sandbox_public = ensure_key_pair(var / "keys" / "sandbox")
    order_url = layout.url(layout.order_port)
    payment_url = layout.url(layout.payment_port)
    sandbox_url = layout.url(layout.sandbox_port)
    defaults = {
        "APP_ENV": "development",
        **ensure_dev_secrets(var),
        "ORDER_DATABASE_URL": f"sqlite+aiosqlite:///{var / 'order.db'}",
        "ORDER_REDIS_URL": "memory://",
        "ORDER_MEDIA_DIR": str(var / "media"),
        "ORDER_PAYMENT_SERVICE_URL": payment_url,
        "PAYMENT_DATABASE_URL": f"sqlite+aiosqlite:///{var / 'payment.db'}",
        "PAYMENT_ORDER_SERVICE_URL": order_url,
        "PAYMENT_PUBLIC_URL": payment_url,
        "PAYMENT_SPA_RESULT_URL": f"{order_url}/",
        "ALIPAY_APP_ID": DEV_APP_ID,
        "ALIPAY_APP_PRIVATE_KEY": str(app_private),
        "ALIPAY_PUBLIC_KEY": str(sandbox_public),
        "ALIPAY_GATEWAY_URL": f"{sandbox_url}/gateway.do",
        "ALIPAY_SIGN_TYPE": "RSA2",
        "ALIPAY_SELLER_ID": DEV_SELLER_ID,
        "SANDBOX_APP_ID": DEV_APP_ID,
        "SANDBOX_APP_PUBLIC_KEY": str(app_public),
        "SANDBOX_PRIVATE_KEY": str(sandbox_private),
        "SANDBOX_SELLER_ID": DEV_SELLER_ID,
        "SANDBOX_PUBLIC_URL": sandbox_url,
    }
    return {**defaults, **os.environ, "PYTHONUNBUFFERED": "1"}


def run_step(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(f"[run_stack] failed ({result.returncode}): {' '.join(command)}")


def prepare_databases(layout: Layout, env: dict[str, str]) -> None:
    log("migrating the order and payment databases")
    run_step([PYTHON, "-m", "order_service", "migrate"], env)
    run_step([PYTHON, "-m", "payment_service", "migrate"], env)
    # Loading again would put the stock back to the file's numbers, so each database gets it once.
    digest = hashlib.sha256(env["ORDER_DATABASE_URL"].encode()).hexdigest()[:16]
    marker = layout.var_dir / f"catalog-loaded-{digest}"
    if not marker.exists():
        log(f"loading the catalog {layout.catalog}")
        run_step([PYTHON, "-m", "order_service", "load-catalog", str(layout.catalog)], env)
        marker.write_text(env["ORDER_DATABASE_URL"] + "\n")


class Service:
    def __init__(self, name: str, app: str, port: int):
        self.name, self.app, self.port = name, app, port
        self.process: subprocess.Popen | None = None

    def start(self, host: str, env: dict[str, str]) -> None:
        # A session of its own: the terminal's Ctrl-C reaches only run_stack, which then stops
        # each service once (a second signal would make uvicorn skip its graceful shutdown).
        self.process = subprocess.Popen(
            [PYTHON, "-m", "uvicorn", self.app, "--host", host, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def healthy(self, host: str) -> bool:
        try:
            with urlopen(f"http://{host}:{self.port}/healthz", timeout=1) as response:
                return response.status == 200
        except (URLError, OSError):
            return False

    def terminate(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        if not self.process:
            return
        try:
            self.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop in time; killing it")
            self.process.kill()
            self.process.wait()


def wait_healthy(services: list[Service], host: str, stop: threading.Event) -> bool:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    pending = list(services)
    while pending and not stop.is_set():
        for service in list(pending):
            if service.exited:
                log(f"{service.name} exited during start-up (code {service.process.returncode})")
                return False
            if service.healthy(host):
                pending.remove(service)
        if time.monotonic() > deadline:
            log("timed out waiting for: " + ", ".join(s.name for s in pending))
            return False
        stop.wait(0.2)
    return not pending


def stop_all(services: list[Service]) -> None:
    for service in services:
        service.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for service in services:
        service.wait_or_kill(deadline)


def main() -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())

    layout = Layout.from_env()
    layout.var_dir.mkdir(parents=True, exist_ok=True)
    env = stack_env(layout)
    prepare_databases(layout, env)

    services = [
        Service("alipay emulator", "alipay_sandbox.main:app", layout.sandbox_port),
        Service("payment service", "payment_service.main:app", layout.payment_port),
        Service("order service", "order_service.main:app", layout.order_port),
    ]
    failed = False
    try:
        for service in services:
            service.start(layout.host, env)
        if not wait_healthy(services, layout.host, stop):
            failed = not stop.is_set()
            return 1 if failed else 0
        log(
            f"payment service: {layout.url(layout.payment_port)}  "
            f"Alipay emulator: {layout.url(layout.sandbox_port)}"
        )
        log(f"Storefront: {layout.url(layout.order_port)}/")
        log("press Ctrl-C to stop")
        while not stop.wait(0.5):
            dead = [s for s in services if s.exited]
            if dead:
                log(f"{dead[0].name} exited (code {dead[0].process.returncode}); stopping the rest")
                failed = True
                break
        return 1 if failed else 0
    finally:
        log("stopping")
        stop_all(services)
        log("stopped")


if __name__ == "__main__":
    sys.exit(main())
