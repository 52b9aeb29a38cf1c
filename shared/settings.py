"""Settings common to every service, read from the environment (and a `.env` file).

Each service subclasses `ServiceSettings` with its own `env_prefix`; the shared secret that
signs internal calls is read without prefix, as the contract names it.
"""

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Long enough for HS256 (PyJWT warns under 32 bytes), and refused outside development anyway.
DEV_PLACEHOLDER = "dev-insecure-placeholder-secret-change-me"
# HS256 keys (the JWT, the internal calls' HMAC) shorter than the hash are guessable; production
# refuses them (issue 10, item 10)
MIN_SECRET_BYTES = 32


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("APP_ENV")
    )
    service_auth_secret: str = Field(
        DEV_PLACEHOLDER, validation_alias=AliasChoices("SERVICE_AUTH_SECRET")
    )
    log_json: bool = Field(False, validation_alias=AliasChoices("LOG_JSON"))

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self):
        if self.environment == "development":
            return self
        for name in self.secret_fields():
            value = getattr(self, name)
            if not value or value == DEV_PLACEHOLDER:
                raise ValueError(
                    f"{name} must be set to a real secret when APP_ENV={self.environment}"
                )
            if self.environment == "production" and len(value.encode()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"{name} must be at least {MIN_SECRET_BYTES} bytes when APP_ENV=production "
                    "(openssl rand -hex 32)"
                )
        return self

    def secret_fields(self) -> tuple[str, ...]:
        """Names of fields that must not keep the development placeholder (nor, in production,
        be shorter than MIN_SECRET_BYTES)."""
        return ("service_auth_secret",)
