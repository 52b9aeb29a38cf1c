"""Payment service settings: PAYMENT_* for the service, ALIPAY_* for the merchant app."""

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import DatabasePoolSettings, ServiceSettings


class PaymentSettings(ServiceSettings, DatabasePoolSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/payment.db"
    order_service_url: str = "http://127.0.0.1:8000"
    public_url: str = "http://127.0.0.1:8001"
    spa_result_url: str = "http://127.0.0.1:8000/"
    relay_interval_seconds: float = Field(1.0, gt=0)
    reconcile_interval_seconds: float = Field(60.0, gt=0)
    reconcile_after_seconds: float = Field(300.0, ge=0)
    order_service_timeout_seconds: float = Field(
        5.0, gt=0, validation_alias=AliasChoices("PAYMENT_ORDER_TIMEOUT_SECONDS")
    )

    alipay_app_id: str = Field("", validation_alias=AliasChoices("ALIPAY_APP_ID"))
    alipay_app_private_key: str = Field("", validation_alias=AliasChoices("ALIPAY_APP_PRIVATE_KEY"))
    alipay_public_key: str = Field("", validation_alias=AliasChoices("ALIPAY_PUBLIC_KEY"))
    alipay_gateway_url: str = Field(
        "http://127.0.0.1:8002/gateway.do", validation_alias=AliasChoices("ALIPAY_GATEWAY_URL")
    )
    alipay_sign_type: Literal["RSA2", "RSA"] = Field(
        "RSA2", validation_alias=AliasChoices("ALIPAY_SIGN_TYPE")
    )
    alipay_seller_id: str = Field("", validation_alias=AliasChoices("ALIPAY_SELLER_ID"))
    alipay_app_cert: str = Field("", validation_alias=AliasChoices("ALIPAY_APP_CERT"))
    alipay_public_cert: str = Field("", validation_alias=AliasChoices("ALIPAY_PUBLIC_CERT"))
    alipay_root_cert: str = Field("", validation_alias=AliasChoices("ALIPAY_ROOT_CERT"))
    alipay_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("ALIPAY_TIMEOUT_SECONDS")
    )

    @property
    def notify_url(self) -> str:
        return self.public_url.rstrip("/") + "/alipay/notify"

    @property
    def return_url(self) -> str:
        return self.public_url.rstrip("/") + "/alipay/return"
