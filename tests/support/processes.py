"""Real processes: our commands (`python -m <package> ...`) run to completion, and services as
uvicorn on a free port, stopped (SIGTERM) or killed (SIGKILL)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "test-artifacts" / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_module(
    package: str,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    python: str = sys.executable,
    cwd: Path = ROOT,
) -> str:
    """`python -m <package> <args>` from the repo root with `env` over ours; its stdout.

    A non-zero exit fails (AssertionError) with everything the command printed. `python` and
    `cwd` run it with another interpreter from elsewhere (an installed wheel, outside the repo).
    """
    result = subprocess.run(
        [python, "-m", package, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"python -m {package} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


class ServiceProcess:
    """One `uvicorn <app>` process with its own environment, logging to test-artifacts/logs.

    `python` and `cwd` start it with another interpreter from elsewhere (an installed wheel);
    `log_level="info"` keeps uvicorn's access log; `workers` > 1 runs that many uvicorn workers.
    """

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        name: str,
        port: int | None = None,
        python: str = sys.executable,
        cwd: Path = ROOT,
        log_level: str = "warning",
        workers: int = 1,
    ):
        self.app = app
        self.log_level = log_level
        self.workers = workers
        self.env = env
        self.name = name
        self.port = port or free_port()
        self.python = python
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> "ServiceProcess":  # a busy machine starts slowly
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [
                self.python,
                "-m",
                "uvicorn",
                self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                self.log_level,
                *(["--workers", str(self.workers)] if self.workers > 1 else []),
            ],
            cwd=self.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"{self.name} did not become healthy; see {self.log_path}:\n{self.tail()}"
        )

    def worker_serving(self, client_port: int) -> int | None:
        """The pid of the process (the worker, with `workers` > 1) holding the accepted end of
        the connection from local `client_port` to this service, read from /proc (Linux)."""
        inodes = {
            fields[9]
            for table in ("/proc/net/tcp", "/proc/net/tcp6")
            if os.path.exists(table)
            for fields in (line.split() for line in Path(table).read_text().splitlines()[1:])
            if int(fields[1].rsplit(":", 1)[1], 16) == self.port
            and int(fields[2].rsplit(":", 1)[1], 16) == client_port
        }
        for pid in self._descendants(self.process.pid) if self.process else []:
            try:
                links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            except OSError:  # gone, or a descriptor closed while reading
                continue
            if any(f"socket:[{inode}]" in links for inode in inodes):
                return pid
        return None

    @staticmethod
    def _descendants(pid: int) -> list[int]:
        found, queue = [], [pid]
        while queue:
            current = queue.pop()
            found.append(current)
            for task in Path(f"/proc/{current}/task").glob("*"):
                try:
                    queue.extend(int(child) for child in (task / "children").read_text().split())
                except OSError:
                    continue
        return found

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful stop (SIGTERM, as a supervisor would); kills after the timeout."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
