"""Alembic for both service databases: the body of each env.py and the `migrate` commands.

alembic.ini has one section per database ([order], [payment]). The URL is never in that file:
`upgrade_to_head(section, url)` passes it in `config.attributes["database_url"]`, and plain
`alembic --name order|payment upgrade head` falls back to the service's settings (environment).
"""

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from shared.db import create_engine

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(section: str, url: str | None = None) -> Config:
    config = Config(str(ALEMBIC_INI), ini_section=section)
    if url:
        config.attributes["database_url"] = url
    return config


def upgrade_to_head(section: str, url: str | None = None) -> None:
    """Runs its own event loop: call it from a thread when a loop is already running."""
    command.upgrade(alembic_config(section, url), "head")


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
    engine = create_engine(url)
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
