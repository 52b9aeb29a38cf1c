"""User rows: registration, admins, the password hash a login checks, and existence."""

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from order_service.storage.tables import users
from shared.results import updated_rows
from shared.time import now_utc


async def insert_user(
    session: AsyncSession, username: str, password_hash: str, is_admin: bool = False
) -> int:
    """The new user's id; IntegrityError when the name is taken regardless of case
    (uq_users_username_lower)."""
    return await session.scalar(
        insert(users)
        .values(
            username=username,
            password_hash=password_hash,
            created_at=now_utc(),
            is_admin=is_admin,
        )
        .returning(users.c.id)
    )


async def promote_to_admin(session: AsyncSession, username: str) -> bool:
    """Make the user of that name (regardless of case) an admin; False when there is none."""
    result = await session.execute(
        update(users).where(func.lower(users.c.username) == username.lower()).values(is_admin=True)
    )
    return updated_rows(result) == 1


async def is_admin(session: AsyncSession, user_id: int) -> bool:
    return bool(await session.scalar(select(users.c.is_admin).where(users.c.id == user_id)))


async def credentials(session: AsyncSession, username: str):
    """(id, password_hash) of the user of that name regardless of case, or None."""
    query = select(users.c.id, users.c.password_hash).where(
        func.lower(users.c.username) == username.lower()
    )
    return (await session.execute(query)).first()


async def user_exists(session: AsyncSession, user_id: int) -> bool:
    return await session.scalar(select(users.c.id).where(users.c.id == user_id)) is not None
