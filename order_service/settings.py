"""Order service settings, from ORDER_* environment variables (and `.env`)."""

from decimal import Decimal
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.money import Money
from shared.settings import DEV_PLACEHOLDER, DatabasePoolSettings, ServiceSettings


class OrderSettings(ServiceSettings, DatabasePoolSettings):
    model_config = SettingsConfigDict(env_prefix="ORDER_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/order.db"
    redis_url: str = "memory://"
    payment_service_url: str = "http://127.0.0.1:8001"
    jwt_secret: str = DEV_PLACEHOLDER
    token_ttl_seconds: int = Field(86400, gt=0)
    pay_timeout_seconds: int = Field(1800, gt=0)
    freight: Money = Decimal("10.00")
    sweep_interval_seconds: float = Field(30.0, gt=0)
    sweep_batch_size: int = Field(100, gt=0)
    sweep_concurrency: int = Field(10, gt=0)
    # HTTP timeout of calls to the payment service (not pay_timeout_seconds, the buyer's time)
    payment_service_timeout_seconds: float = Field(
        5.0, gt=0, validation_alias=AliasChoices("ORDER_PAYMENT_TIMEOUT_SECONDS")
    )
    max_unpaid_orders: int = Field(10, ge=0)
    # Pictures of goods that load-catalog copied from files beside a catalog; served at /media/.
    media_dir: Path = Path("var/media")
    redis_timeout_seconds: float = Field(2.0, gt=0)
    # before every Redis key of this service (carts, rate-limit counters): a Redis shared with
    # other applications or shops
    redis_key_prefix: str = Field("", max_length=64)
    cart_idle_days: int = Field(30, ge=0)  # a cart untouched this long expires (0: never)
    login_failure_limit: int = Field(5, ge=0)
    client_rate_limit: int = Field(60, ge=0)
    password_hash_workers: int = Field(1, gt=0)

    def secret_fields(self) -> tuple[str, ...]:
        return ("service_auth_secret", "jwt_secret")
