"""Settings common to every service, read from the environment (and a `.env` file).

Each service subclasses `ServiceSettings` with its own `env_prefix`, so a field is read from
its prefix and name (`database_url` from ORDER_DATABASE_URL); `validation_alias` names only the
variables outside that rule, such as the shared secret that signs internal calls (read without
prefix, as the contract names it) and the payment service's ALIPAY_*.
"""

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.db import DatabaseTimeouts

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
    # Who may read /metrics/ (shared.metrics.MetricsEndpoint; the emulator serves none): true,
    # anyone who reaches the port; false, nobody (404); unset, true outside production. In
    # production serve it only where the public cannot reach it (Kubernetes: Prometheus scrapes
    # the pod, and the Ingress routes /metrics nowhere).
    metrics_public: bool | None = Field(None, validation_alias=AliasChoices("METRICS_PUBLIC"))

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self):
        self.refuse_environment()
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

    def refuse_environment(self) -> None:
        """Raise ValueError if this service must not run in `self.environment` (checked before
        the secrets)."""

    def metrics_are_public(self) -> bool:
        if self.metrics_public is None:
            return self.environment != "production"
        return self.metrics_public

    def secret_fields(self) -> tuple[str, ...]:
        """Names of fields that must not keep the development placeholder (nor, in production,
        be shorter than MIN_SECRET_BYTES)."""
        return ("service_auth_secret",)


class DatabasePoolSettings(BaseSettings):
    """The PostgreSQL pool of a service with a database (<PREFIX>_DB_POOL_SIZE, …): mixed into
    its settings class beside ServiceSettings, read by `shared.db.create_engine`."""

    db_pool_size: int = Field(10, gt=0)
    db_max_overflow: int = Field(20, ge=0)
    db_transaction_pooler: bool = False
    # bounds on every wait for the database (shared.db.DatabaseTimeouts)
    db_connect_timeout_seconds: float = Field(3.0, gt=0)
    db_command_timeout_seconds: float = Field(5.0, gt=0)
    db_pool_timeout_seconds: float = Field(3.0, gt=0)

    def db_timeouts(self) -> DatabaseTimeouts:
        return DatabaseTimeouts(
            connect=self.db_connect_timeout_seconds,
            command=self.db_command_timeout_seconds,
            pool=self.db_pool_timeout_seconds,
        )

    def engine_options(self) -> dict:
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "transaction_pooler": self.db_transaction_pooler,
            "timeouts": self.db_timeouts(),
        }
