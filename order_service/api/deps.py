"""Dependencies shared by the routers: resources from app.state and the current user.

All are `async def`: FastAPI runs a plain `def` dependency in the thread pool, a hop that cost
more than the work on every request.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import async_sessionmaker

from order_service.clients.payment import PaymentClient
from order_service.services.checkout import Checkout
from order_service.services.users import Authenticator, ensure_admin
from order_service.settings import OrderSettings
from order_service.storage.cart import CartStore

_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


async def _settings(request: Request) -> OrderSettings:
    return request.app.state.settings


async def _sessions(request: Request) -> async_sessionmaker:
    return request.app.state.sessions


async def _cart(request: Request) -> CartStore:
    return request.app.state.cart


async def _payments(request: Request) -> PaymentClient:
    return request.app.state.payments


async def _checkout(request: Request) -> Checkout:
    return request.app.state.checkout


async def _authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


SettingsDep = Annotated[OrderSettings, Depends(_settings)]
SessionsDep = Annotated[async_sessionmaker, Depends(_sessions)]
CartDep = Annotated[CartStore, Depends(_cart)]
PaymentsDep = Annotated[PaymentClient, Depends(_payments)]
CheckoutDep = Annotated[Checkout, Depends(_checkout)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def _current_user(
    authenticator: Annotated[Authenticator, Depends(_authenticator)],
    token: Annotated[str | None, Depends(_bearer)],
) -> int:
    if not token:
        raise _unauthorized("Log in first: this route needs a bearer token.")
    user_id = await authenticator.user_id(token)
    if user_id is None:
        raise _unauthorized("The bearer token is invalid or expired.")
    return user_id


CurrentUser = Annotated[int, Depends(_current_user)]


async def _current_admin(user_id: CurrentUser, sessions: SessionsDep) -> int:
    await ensure_admin(sessions, user_id)
    return user_id


CurrentAdmin = Annotated[int, Depends(_current_admin)]
