"""Real PostgreSQL and Redis for the tests, touching no data the tests did not create.

Redis: the tests never use a Redis they find running. The first `fresh_redis_url()` starts a
throwaway `redis-server` of our own (a free port, a temporary directory, nothing saved) and
every call gets a logical database of it that nobody had before; a server whose databases are
all given out is followed by another. `stop_throwaway_servers()` stops them (the root
conftest calls it at the end of the session; an `atexit` hook does it for `python -m bench`).

PostgreSQL: uniquely named databases, each dropped at the end (`PostgresDatabases`), on the
server at TEST_PG_HOST:TEST_PG_PORT (127.0.0.1:5432 by default, which `make test` starts), or,
with TEST_PG=throwaway, on a cluster of our own made with initdb in a temporary directory and
started with pg_ctl on a free port.

A test never skips because a server is missing: it fails with a sentence saying which one and
what to do.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
import redis
import redis.asyncio as aioredis

from tests.support.processes import free_port

# Where the server binaries are when they are not on PATH: Debian's versioned PostgreSQL
# folders, Homebrew, /usr/local and /usr/sbin.
SEARCH_DIRS = ("/usr/bin", "/usr/local/bin", "/opt/homebrew/bin", "/usr/sbin")
PG_SEARCH_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql*/bin",
    "/usr/pgsql-*/bin",
)
START_TIMEOUT = 30.0


def find_binary(name: str, extra_globs: tuple[str, ...] = ()) -> str | None:
    """`name` on PATH or in the usual places; for versioned folders, the newest version."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SEARCH_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    for pattern in extra_globs:
        for folder in sorted(glob.glob(pattern), reverse=True):
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def _fail(sentence: str) -> NoReturn:
    pytest.fail(sentence, pytrace=False)


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- Redis ---------------------------------------------------------------------------------

REDIS_DATABASES = 1024  # logical databases per throwaway server; each is handed out once


class ThrowawayRedis:
    """One `redis-server` of ours: 127.0.0.1 on a free port, a temporary directory, no RDB and
    no AOF, so nothing outlives `stop()`."""

    def __init__(self, databases: int = REDIS_DATABASES):
        self.databases = databases
        self.port = 0
        self.folder = Path(tempfile.mkdtemp(prefix="test-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / "redis.log"

    def start(self) -> ThrowawayRedis:
        """Started and answering PING; when it cannot be, nothing is left behind."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> ThrowawayRedis:
        binary = find_binary("redis-server")
        if binary is None:
            _fail(
                "redis-server is not installed (looked on PATH and in "
                f"{', '.join(SEARCH_DIRS)}): the tests start their own Redis, so install it "
                "(Debian: apt-get install redis-server; macOS: brew install redis)."
            )
        for _ in range(3):  # the free port may be taken between choosing it and binding it
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    str(binary),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--dir",
                    str(self.folder),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--databases",
                    str(self.databases),
                    "--daemonize",
                    "no",
                    "--logfile",
                    str(self.log_path),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C on the test run reaches pytest only
            )
            if self._wait_ready():
                return self
        self.stop()
        _fail(f"Could not start a throwaway redis-server:\n{_log_tail(self.log_path)}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except redis.RedisError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)


class RedisDatabases:
    """Hands out each logical database of our throwaway servers once, starting one lazily."""

    def __init__(self) -> None:
        self.servers: list[ThrowawayRedis] = []
        self.next_db = 0

    def allocate(self) -> str:
        if not self.servers or self.next_db >= self.servers[-1].databases:
            self.servers.append(ThrowawayRedis().start())
            self.next_db = 0
        db, self.next_db = self.next_db, self.next_db + 1
        return self.servers[-1].url(db)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


_redis = RedisDatabases()


async def fresh_redis_url() -> str:
    """The URL of an empty Redis database that no one else uses, on a server of our own."""
    url = _redis.allocate()
    client = aioredis.from_url(url)
    try:
        keys = await client.dbsize()
    finally:
        await client.aclose()
    assert keys == 0, f"{url} was handed out with {keys} keys in it"
    return url


# --- PostgreSQL ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str


SYSTEM_PG = PgServer(
    host=os.environ.get("TEST_PG_HOST", "127.0.0.1"),
    port=int(os.environ.get("TEST_PG_PORT", "5432")),
    user=os.environ.get("TEST_PG_USER", "postgres"),
)


class ThrowawayPostgres:
    """A cluster of ours: initdb into a temporary directory, pg_ctl start on a free port of
    127.0.0.1 (trust authentication, user `postgres`), pg_ctl stop and the directory removed
    at the end. As root, initdb and pg_ctl run as the `postgres` system user (PostgreSQL
    refuses to run as root)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="test-pg-"))
        self.data = self.folder / "data"
        self.log_path = self.folder / "postgres.log"
        self.port = 0
        self.pg_ctl: str | None = None
        self.started = False

    def _as_owner(self, command: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return command
        runuser = find_binary("runuser")
        if runuser is None:
            _fail("TEST_PG=throwaway as root needs runuser to run PostgreSQL as `postgres`.")
        return [str(runuser), "-u", "postgres", "--", *command]

    def _run(self, command: list[str], what: str) -> None:
        done = subprocess.run(
            self._as_owner(command), capture_output=True, text=True, timeout=120, cwd=self.folder
        )
        if done.returncode != 0:
            _fail(
                f"TEST_PG=throwaway: {what} failed ({' '.join(command)}):\n"
                f"{done.stdout}{done.stderr}{_log_tail(self.log_path)}"
            )

    def start(self) -> PgServer:
        """Started and accepting connections; when it cannot be, nothing is left behind."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> PgServer:
        initdb = find_binary("initdb", PG_SEARCH_GLOBS)
        self.pg_ctl = find_binary("pg_ctl", PG_SEARCH_GLOBS)
        if initdb is None or self.pg_ctl is None:
            _fail(
                "TEST_PG=throwaway needs initdb and pg_ctl (looked on PATH, in "
                f"{', '.join(SEARCH_DIRS)} and {', '.join(PG_SEARCH_GLOBS)}): install "
                "PostgreSQL's server package."
            )
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres")
        self._run(
            [str(initdb), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            "initdb",
        )
        for _ in range(3):  # the free port may be taken between choosing it and binding it
            self.port = free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            done = subprocess.run(
                self._as_owner(
                    [str(self.pg_ctl), "-D", str(self.data), "-l", str(self.log_path)]
                    + ["-o", options, "-w", "-t", str(int(START_TIMEOUT)), "start"]
                ),
                capture_output=True,
                text=True,
                cwd=self.folder,
            )
            if done.returncode == 0:
                self.started = True
                return PgServer("127.0.0.1", self.port, "postgres")
        self.stop()
        _fail(f"TEST_PG=throwaway: pg_ctl could not start the cluster:\n{_log_tail(self.log_path)}")

    def stop(self) -> None:
        if self.started and self.pg_ctl is not None:
            subprocess.run(
                self._as_owner([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"]),
                capture_output=True,
                cwd=self.folder,
            )
            self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)


_throwaway_pg: ThrowawayPostgres | None = None
_throwaway_pg_server: PgServer | None = None


def pg_server() -> PgServer:
    """The PostgreSQL server the tests use: the system one, or with TEST_PG=throwaway our own."""
    global _throwaway_pg, _throwaway_pg_server
    mode = os.environ.get("TEST_PG", "system")
    if mode == "system":
        return SYSTEM_PG
    if mode != "throwaway":
        _fail(f"TEST_PG must be `system` (the default) or `throwaway`, not {mode!r}.")
    if _throwaway_pg_server is None:
        _throwaway_pg = ThrowawayPostgres()
        _throwaway_pg_server = _throwaway_pg.start()
    return _throwaway_pg_server


async def _admin_connection(server: PgServer) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=server.host, port=server.port, user=server.user, database="postgres", timeout=5
        )
    except (OSError, asyncpg.PostgresError) as exc:
        _fail(
            f"PostgreSQL is not reachable at {server.host}:{server.port} ({exc}). "
            "Run the tests with `make test`, which starts it, start it yourself, or set "
            "TEST_PG=throwaway to have the tests make a cluster of their own."
        )


class PostgresDatabases:
    """Creates uniquely named databases and drops them all (and only them) at the end."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.server: PgServer | None = None

    async def create(self, prefix: str) -> str:
        server = self.server = pg_server()
        name = f"t_{prefix}_{uuid.uuid4().hex[:10]}"
        conn = await _admin_connection(server)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.names.append(name)
        return f"postgresql+asyncpg://{server.user}@{server.host}:{server.port}/{name}"

    async def drop_all(self) -> None:
        if not self.names or self.server is None:
            return
        conn = await _admin_connection(self.server)
        try:
            for name in self.names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.names.clear()


def stop_throwaway_servers() -> None:
    """Stop every server this process started (idempotent)."""
    global _throwaway_pg, _throwaway_pg_server
    _redis.stop()
    if _throwaway_pg is not None:
        _throwaway_pg.stop()
    _throwaway_pg, _throwaway_pg_server = None, None


atexit.register(stop_throwaway_servers)


_PG_NAMES = {"PG_HOST": "host", "PG_PORT": "port", "PG_USER": "user"}


def __getattr__(name: str) -> object:
    """PG_HOST, PG_PORT and PG_USER: the PostgreSQL server in use, as `pg_server()` gives it
    (bench/checkout.py points PgBouncer at it); with TEST_PG=throwaway asking starts the cluster."""
    if name in _PG_NAMES:
        return getattr(pg_server(), _PG_NAMES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
