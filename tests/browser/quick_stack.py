"""`scripts/run_stack.py` (what `make run` starts) on free ports and its own var directory."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.processes import LOG_DIR, ROOT, free_port

RUN_STACK = ROOT / "scripts" / "run_stack.py"
# Settings a developer's shell might hold that would pull the quick start elsewhere.
OUTSIDE_SETTINGS = ("ORDER_", "PAYMENT_", "ALIPAY_", "SANDBOX_", "SERVICE_AUTH_SECRET", "APP_ENV")


class QuickStack:
    def __init__(self, var_dir: Path, name: str, extra_env: dict[str, str] | None = None):
        self.var_dir = var_dir
        self.ports = {name: free_port() for name in ("order", "payment", "sandbox")}
        self.extra_env = extra_env or {}
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"run_stack-{name}-{self.ports['order']}.log"
        self.process: subprocess.Popen | None = None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def storefront(self) -> str:
        return self.url("order") + "/"

    def start(self, timeout: float = 90) -> "QuickStack":
        env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE_SETTINGS)}
        env.update(
            {
                "RUN_VAR_DIR": str(self.var_dir),
                "RUN_ORDER_PORT": str(self.ports["order"]),
                "RUN_PAYMENT_PORT": str(self.ports["payment"]),
                "RUN_SANDBOX_PORT": str(self.ports["sandbox"]),
                "PYTHONUNBUFFERED": "1",
                **self.extra_env,
            }
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_STACK)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while "Storefront: " not in self.output():
            if self.process.poll() is not None:
                raise RuntimeError(f"run_stack exited early:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"run_stack did not announce the storefront:\n{self.tail()}")
            time.sleep(0.2)
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def healthy(self, service: str) -> bool:
        try:
            return httpx.get(self.url(service) + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal run_stack as a terminal (SIGINT) or a supervisor (SIGTERM) would; exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired as timed_out:
                self.process.kill()
                self.process.wait()
                message = f"run_stack did not stop in {timeout}s:\n{self.tail()}"
                raise RuntimeError(message) from timed_out
        return self.process.returncode
