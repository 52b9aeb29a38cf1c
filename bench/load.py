"""The load generators and yardsticks every benchmark shares.

- `run_wrk`: Debian's `wrk` (compiled, one thread) with one of our Lua scripts; the Python client
  that came before ate the cores the service needed, so its numbers measured the client.
- `pgbench_tps`: PostgreSQL's own limit for the tutorial's SQL (`bench/pg/*.sql`), the yardstick
  a rate is quoted against, at the same concurrency in the same run.
- `cpu_seconds`: user + system CPU of a process and its children (uvicorn's workers), from /proc.
"""

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
LUA_DIR = BENCH_DIR / "lua"
PG_DIR = BENCH_DIR / "pg"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def require(tool: str) -> str:
    path = shutil.which(tool) or next(
        (p for p in (f"/usr/bin/{tool}", f"/usr/sbin/{tool}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise SystemExit(f"{tool} is not installed (Debian: apt-get install {tool})")
    return path


@dataclass
class LoadResult:
    rate: float  # 2xx answers per second
    requests: int
    p50_ms: float
    p99_ms: float
    answers: dict[str, int] = field(default_factory=dict)  # "201", "409 stock_contention", ...
    socket_errors: int = 0

    @property
    def ok(self) -> int:
        return sum(n for key, n in self.answers.items() if key.startswith("2"))

    def failures(self) -> dict[str, int]:
        return {key: n for key, n in self.answers.items() if not key.startswith("2")}


def run_wrk(
    url: str, script: str, script_args: list[str], connections: int, seconds: float
) -> LoadResult:
    """`wrk` with `connections` requests in flight for `seconds`; every answer counted."""
    command = [
        require("wrk"),
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA_DIR / script),
        url,
        "--",
        *script_args,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout[-2000:]}")
    output = done.stdout
    summary = json.loads(output.strip().splitlines()[-1])
    seconds_run = summary["duration_us"] / 1e6
    result = LoadResult(
        rate=0.0,
        requests=summary["requests"],
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        answers=summary["answers"],
        socket_errors=summary["socket_errors"],
    )
    result.rate = result.ok / seconds_run
    return result


def pgbench_tps(dsn_database: str, script: str, clients: int, seconds: float) -> float:
    """pgbench's tps for `bench/pg/<script>` against a database loaded with the yardstick schema."""
    command = [
        require("pgbench"),
        "-n",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        f"-c{clients}",
        "-j1",
        f"-T{int(seconds)}",
        "-f",
        str(PG_DIR / script),
        dsn_database,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout[-2000:]}")
    output = done.stdout
    match = re.search(r"tps = ([\d.]+)", output)
    if match is None:
        raise SystemExit(f"pgbench printed no tps:\n{output}")
    return float(match.group(1))


def load_yardstick_schema(database: str) -> None:
    subprocess.run(
        [require("psql"), "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-f"]
        + [str(PG_DIR / "pg_limit_schema.sql")],
        check=True,
        capture_output=True,
    )


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and (recursively) its live children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return own + sum(cpu_seconds(child) for child in _children(pid))
