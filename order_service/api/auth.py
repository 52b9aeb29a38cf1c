from typing import Annotated

from fastapi import APIRouter, Form

from order_service.api.deps import SessionsDep, SettingsDep
from order_service.api.schemas import RegisterBody, TokenForm, TokenOut, UserOut
from order_service.services import users
from shared.errors import problems

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=201,
    response_model=UserOut,
    summary="Register a user",
    responses=problems({409: "`username_taken`."}),
)
async def register(body: RegisterBody, sessions: SessionsDep):
    return await users.register(sessions, body.username, body.password)


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Log in: a bearer token for a username and password (OAuth2 password flow)",
    responses=problems({401: "`invalid_credentials`."}),
)
async def token(
    form: Annotated[TokenForm, Form()],
    sessions: SessionsDep,
    settings: SettingsDep,
):
    user_id = await users.authenticate(sessions, form.username, form.password)
    return {
        "access_token": users.issue_token(user_id, settings.jwt_secret, settings.token_ttl_seconds),
        "token_type": "bearer",
        "expires_in": settings.token_ttl_seconds,
    }
