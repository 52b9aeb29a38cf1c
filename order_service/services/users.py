"""Registration, password login (argon2) and user tokens (JWT, HS256)."""

from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.concurrency import run_in_threadpool

from order_service.domain.errors import Conflict, InvalidCredentials
from order_service.storage.database import now_utc
from order_service.storage.tables import users

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
ALGORITHM = "HS256"


async def register(sessions: async_sessionmaker, username: str, password: str) -> dict:
    password_hash = await run_in_threadpool(_hasher.hash, password)
    try:
        async with sessions() as session, session.begin():
            user_id = await session.scalar(
                insert(users)
                .values(username=username, password_hash=password_hash, created_at=now_utc())
                .returning(users.c.id)
            )
    except IntegrityError:
        raise Conflict("username_taken", f"The username {username!r} is taken.") from None
    return {"id": user_id, "username": username}


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


async def authenticate(sessions: async_sessionmaker, username: str, password: str) -> int:
    async with sessions() as session:
        row = (
            await session.execute(
                select(users.c.id, users.c.password_hash).where(users.c.username == username)
            )
        ).first()
    stored = row.password_hash if row else _DUMMY_HASH
    if not await run_in_threadpool(_verify, stored, password) or row is None:
        raise InvalidCredentials("The username or password is wrong.")
    return row.id


def issue_token(user_id: int, secret: str, ttl_seconds: int) -> str:
    now = now_utc()
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def user_id_from_token(token: str, secret: str) -> int | None:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        return None


class KnownUsers:
    """Whether a token's user exists, asked of the database once per user and process.

    Users are never deleted, so a user found once stays found; this takes a query off every
    authenticated request. Bounded: when full it forgets everyone and starts again.
    """

    def __init__(self, sessions: async_sessionmaker, capacity: int = 100_000):
        self.sessions = sessions
        self.capacity = capacity
        self._found: set[int] = set()

    async def exists(self, user_id: int) -> bool:
        if user_id in self._found:
            return True
        async with self.sessions() as session:
            found = await session.scalar(select(users.c.id).where(users.c.id == user_id))
        if found is None:
            return False
        if len(self._found) >= self.capacity:
            self._found.clear()
        self._found.add(user_id)
        return True
