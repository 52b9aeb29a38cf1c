"""Alembic for both service databases: the body of each env.py and the `migrate` commands.

The scripts ship inside the packages (`order_service.migrations`, `payment_service.migrations`;
in the repo they are migrations/order and migrations/payment, see pyproject.toml), so the
configuration is made here, in code, and an installed wheel migrates without alembic.ini.
alembic.ini stays for developers (`alembic --name order|payment ...` from the repo) and names
the same folders. The URL is never in a file: `upgrade_to_head(section, url)` passes it in
`config.attributes["database_url"]`, and plain `alembic` falls back to the service's settings.
"""

import asyncio
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import ONE_SHOT_TIMEOUTS, create_engine

# The alembic.ini section (and `alembic --name`) of each database, and the package of its scripts.
SCRIPT_PACKAGES = {"order": "order_service.migrations", "payment": "payment_service.migrations"}


def script_location(section: str) -> Path:
    """The folder of a database's Alembic scripts, wherever the package is installed."""
    return Path(str(files(SCRIPT_PACKAGES[section])))


def alembic_config(section: str, url: str | None = None) -> Config:
    config = Config(ini_section=section)
    config.set_section_option(section, "script_location", str(script_location(section)))
    if url:
        config.attributes["database_url"] = url
    return config


def upgrade_to_head(section: str, url: str | None = None) -> None:
    """Runs its own event loop: call it from a thread when a loop is already running."""
    command.upgrade(alembic_config(section, url), "head")


@cache
def head_revisions(section: str) -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config(section)).get_heads())


def migrate_command(section: str) -> str:
    """The command that brings a database to head: `python -m order_service migrate`."""
    return f"python -m {SCRIPT_PACKAGES[section].split('.')[0]} migrate"


async def is_at_head(connection: AsyncConnection, section: str) -> bool:
    """True when the database was migrated to the scripts' head (what /readyz checks)."""
    current = await connection.run_sync(
        lambda sync: set(MigrationContext.configure(sync).get_current_heads())
    )
    return current == head_revisions(section)


def run_env(metadata: MetaData, settings_url: Callable[[], str]) -> None:
    """The whole of an env.py; `settings_url` is only called when no URL was passed in."""
    url = context.config.attributes.get("database_url") or settings_url()
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online(url, metadata))


async def _run_online(url: str, metadata: MetaData) -> None:
    engine = create_engine(url, timeouts=ONE_SHOT_TIMEOUTS)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run, metadata)
            await connection.commit()
    finally:
        await engine.dispose()


def _run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
