from typing import Annotated

from fastapi import APIRouter, Form, Request

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
    responses=problems(
        {
            409: "`username_taken` (usernames are unique regardless of case).",
            422: "`weak_password`: blank, too short (under 8), common, or the username; "
            "`validation_error`.",
            429: "`too_many_requests`: too many registrations or log-ins from this address "
            "(Retry-After).",
        }
    ),
)
async def register(body: RegisterBody, request: Request, sessions: SessionsDep):
    state = request.app.state
    await state.login_throttle.client_attempt(_client(request))
    return await users.register(sessions, state.password_hashing, body.username, body.password)


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Log in: a bearer token for a username and password (OAuth2 password flow)",
    responses=problems(
        {
            401: "`invalid_credentials`.",
            429: "`too_many_requests`: too many failed log-ins for this account, or log-ins "
            "from this address, this minute (Retry-After).",
        }
    ),
)
async def token(
    form: Annotated[TokenForm, Form()],
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
):
    state = request.app.state
    await state.login_throttle.client_attempt(_client(request))
    user_id = await users.authenticate(
        sessions, state.password_hashing, state.login_throttle, form.username, form.password
    )
    return {
        "access_token": users.issue_token(user_id, settings.jwt_secret, settings.token_ttl_seconds),
        "token_type": "bearer",
        "expires_in": settings.token_ttl_seconds,
    }


def _client(request: Request) -> str:
    # uvicorn sets it from X-Forwarded-For when run with --proxy-headers behind a trusted proxy.
    return request.client.host if request.client else "unknown"
