"""Async SQLAlchemy engines for PostgreSQL (asyncpg) and SQLite (aiosqlite).

SQLite's Python driver starts transactions lazily and by itself, which breaks SAVEPOINT; the
two event hooks below are SQLAlchemy's documented fix: turn off the driver's own transaction
handling and emit BEGIN ourselves (IMMEDIATE, so concurrent writers wait instead of failing
halfway through a transaction).
"""

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, Row, Select, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_directory(url: str) -> None:
    """A quick-start SQLite file may live in a directory that does not exist yet (var/)."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long a database may keep a request waiting, in seconds; none is unbounded.

    `connect`: opening a connection (TCP and the start-up handshake); `command`: one statement
    (asyncpg cancels it on the server past this); `pool`: waiting for a free connection of the
    pool. Past any of them the caller gets an error that `shared.errors` answers with 503
    `dependency_unavailable`, and the connection is thrown away, so that the pool recovers by
    itself when the database comes back.
    """

    connect: float = 3.0
    command: float | None = 5.0
    pool: float = 3.0


# Commands run once by an operator (migrate, load-catalog): a migration may rightly run long.
ONE_SHOT_TIMEOUTS = DatabaseTimeouts(connect=10.0, command=None, pool=30.0)


def create_engine(
    url: str,
    *,
    transaction_pooler: bool = False,
    timeouts: DatabaseTimeouts | None = None,
    **kwargs,
) -> AsyncEngine:
    """An engine for `url`; `transaction_pooler` when PostgreSQL is reached through PgBouncer (or
    another pooler) in transaction mode, where a server connection changes between transactions;
    `timeouts` bound every wait on the database (the defaults of `DatabaseTimeouts` without it).
    """
    timeouts = timeouts or DatabaseTimeouts()
    kwargs.setdefault("pool_timeout", timeouts.pool)
    if is_sqlite(url):
        # SQLite keeps its own small pool; PostgreSQL's pool sizing does not apply. Its `timeout`
        # is how long a writer waits for the file lock (not a network wait).
        kwargs.pop("pool_size", None)
        kwargs.pop("max_overflow", None)
        ensure_sqlite_directory(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _enable_sqlite_transactions(engine)
        return engine
    # No pre-ping: SQLAlchemy's asyncpg ping is BEGIN, a query and ROLLBACK, three round trips
    # before every transaction (half the database time of a one-query request). A connection
    # that died while idle fails its first statement instead; that error counts as a disconnect,
    # which throws away the whole pool, so one request answers 503 and the next ones reconnect.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    connect_args = {
        "timeout": timeouts.connect,
        "command_timeout": timeouts.command,
        **kwargs.get("connect_args", {}),
    }
    if transaction_pooler:
        connect_args.update(_POOLER_CONNECT_ARGS)
    kwargs["connect_args"] = connect_args
    engine = create_async_engine(url, **kwargs)
    _discard_connections_that_time_out(engine)
    return engine


def _discard_connections_that_time_out(engine: AsyncEngine) -> None:
    """A statement that timed out, or a connection the network broke, leaves a connection in an
    unknown state (asyncpg is still cancelling the statement); SQLAlchemy sees no "disconnect" in
    a plain TimeoutError or OSError and would put it back in the pool. Count them as disconnects:
    the connection is terminated, and the pool opens fresh ones once the database answers again.
    """

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context):
        if isinstance(context.original_exception, TimeoutError | OSError):
            context.is_disconnect = True


# Behind a transaction-mode pooler, prepared statements must not outlive their transaction:
# asyncpg's statement cache off (and SQLAlchemy's over it), and every statement under a unique
# name, so that two clients sharing a server connection never collide (SQLAlchemy's asyncpg
# dialect documentation, "Prepared Statement Cache" and PgBouncer).
_POOLER_CONNECT_ARGS = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
}


def _enable_sqlite_transactions(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def autocommit_session(sessions: async_sessionmaker) -> AsyncIterator[AsyncSession]:
    """A session whose every statement commits by itself: no BEGIN and no COMMIT or ROLLBACK
    round trip, for a read, or for writes that are each whole alone (an insert-or-nothing)."""
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


def insert_with_on_conflict(bind: AsyncSession | AsyncConnection, table: sa.Table):
    """The bind's dialect's INSERT, which has ON CONFLICT (PostgreSQL's or SQLite's)."""
    dialect = bind.get_bind().dialect if isinstance(bind, AsyncSession) else bind.dialect
    return (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)


@asynccontextmanager
async def one_shot_sessions(url: str) -> AsyncIterator[async_sessionmaker]:
    """Sessions on an engine of their own, disposed on exit: for a command that runs once."""
    engine = create_engine(url, timeouts=ONE_SHOT_TIMEOUTS)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


Lease = Mapping[str, Any] | Callable[[Row], Mapping[str, Any]]


async def claim_and_lease(
    session: AsyncSession, query: Select, key: Column, lease: Lease
) -> list[Row]:
    """The rows a background task claims, each leased in the caller's transaction.

    The rows of `query` are locked with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of
    replicas can run the same task without taking the same row (SQLite, the one-process quick
    start, has no row locks); each is then updated, matched on its `key` column, with `lease`:
    the same values for every row, or the values a function gives for each. The caller commits
    the lease before it does the slow work (HTTP), so no row lock is held across it, and a row
    whose work is lost comes back once its lease runs out.
    """
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.execute(query)).all())
    if not rows:
        return rows
    table = key.table
    if callable(lease):
        # one UPDATE per row, executed as one batch; bind names must differ from column names
        leases = [
            {"_key": row._mapping[key], **{f"_{k}": v for k, v in lease(row).items()}}
            for row in rows
        ]
        columns = [name[1:] for name in leases[0] if name != "_key"]
        await session.execute(
            sa.update(table)
            .where(key == sa.bindparam("_key"))
            .values({name: sa.bindparam(f"_{name}") for name in columns}),
            leases,
        )
    else:
        await session.execute(
            sa.update(table).where(key.in_([row._mapping[key] for row in rows])).values(lease)
        )
    return rows
