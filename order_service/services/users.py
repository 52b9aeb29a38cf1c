"""Registration, password login (argon2, throttled) and user tokens (JWT, HS256)."""

import time
from datetime import timedelta

import jwt
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from order_service.domain.errors import Conflict, Forbidden, InvalidCredentials, WeakPassword
from order_service.domain.passwords import password_weakness
from order_service.services.passwords import DUMMY_HASH, PasswordHashing
from order_service.services.throttle import LoginThrottle
from order_service.storage import users as user_rows
from shared.time import now_utc

ALGORITHM = "HS256"


async def register(
    sessions: async_sessionmaker, hashing: PasswordHashing, username: str, password: str
) -> dict:
    weakness = password_weakness(password, username)
    if weakness:
        raise WeakPassword(weakness)
    password_hash = await hashing.hash(password)
    try:
        async with sessions() as session, session.begin():
            user_id = await user_rows.insert_user(session, username, password_hash)
    except IntegrityError:  # usernames are unique regardless of case (uq_users_username_lower)
        raise Conflict("username_taken", f"The username {username!r} is taken.") from None
    return {"id": user_id, "username": username}


async def create_admin(sessions: async_sessionmaker, username: str, ask_password) -> str:
    """Make `username` an admin: `promoted` (an existing user keeps its password) or `created`.

    `ask_password()` is called only for a new user; no password raises ValueError.
    """
    async with sessions() as session, session.begin():
        promoted = await user_rows.promote_to_admin(session, username)
    if promoted:
        return "promoted"
    password = ask_password()
    if not password:
        raise ValueError("a new admin needs a password (ORDER_ADMIN_PASSWORD or standard input)")
    hashing = PasswordHashing()  # a command: one hash, on an executor of its own
    try:
        password_hash = await hashing.hash(password)
    finally:
        hashing.close()
    async with sessions() as session, session.begin():
        await user_rows.insert_user(session, username, password_hash, is_admin=True)
    return "created"


async def ensure_admin(sessions: async_sessionmaker, user_id: int) -> None:
    """Admin rights are read on every back-office request, so a promotion counts at once."""
    async with sessions() as session:
        admin = await user_rows.is_admin(session, user_id)
    if not admin:
        raise Forbidden("Only the shop's admins may use the back office.")


async def authenticate(
    sessions: async_sessionmaker,
    hashing: PasswordHashing,
    throttle: LoginThrottle,
    username: str,
    password: str,
) -> int:
    await throttle.account_attempt(username)
    async with sessions() as session:
        row = await user_rows.credentials(session, username)
    stored = row.password_hash if row else DUMMY_HASH
    if not await hashing.verify(stored, password) or row is None:
        raise InvalidCredentials("The username or password is wrong.")
    await throttle.succeeded(username)
    return row.id


def issue_token(user_id: int, secret: str, ttl_seconds: int) -> str:
    now = now_utc()
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _claims(token: str, secret: str) -> tuple[int, float] | None:
    """(user id, expiry as a POSIX time) of a valid token, or None."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return int(claims["sub"]), float(claims["exp"])
    except (jwt.PyJWTError, ValueError):
        return None


class Authenticator:
    """The user a bearer token speaks for, with the work done once per token and process.

    Decoding and verifying a JWT, and asking the database whether its user exists, cost more
    than the rest of a checkout. A token seen before is remembered until its expiry (the same
    string carries the same signature and claims); users are never deleted, so a user found
    once stays found. Both memories are bounded: when full they are emptied and refilled.
    """

    def __init__(self, sessions: async_sessionmaker, secret: str, capacity: int = 100_000):
        self.sessions = sessions
        self.secret = secret
        self.capacity = capacity
        self._tokens: dict[str, tuple[int, float]] = {}
        self._users: set[int] = set()

    async def user_id(self, token: str) -> int | None:
        known = self._tokens.get(token)
        if known is None:
            known = _claims(token, self.secret)
            if known is None or not await self._exists(known[0]):
                return None
            _remember(self._tokens, self.capacity, token, known)
        user_id, expires = known
        if expires <= time.time():
            self._tokens.pop(token, None)
            return None
        return user_id

    async def _exists(self, user_id: int) -> bool:
        if user_id in self._users:
            return True
        async with self.sessions() as session:
            found = await user_rows.user_exists(session, user_id)
        if not found:
            return False
        if len(self._users) >= self.capacity:
            self._users.clear()
        self._users.add(user_id)
        return True


def _remember(memory: dict, capacity: int, key, value) -> None:
    if len(memory) >= capacity:
        memory.clear()
    memory[key] = value
