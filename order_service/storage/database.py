"""The engine and session factory of the order database."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db import create_engine, is_sqlite


def open_engine(url: str, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    if is_sqlite(url):
        return create_engine(url)
    return create_engine(url, pool_size=pool_size, max_overflow=max_overflow)


def is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def now_utc() -> datetime:
    return datetime.now(UTC)
