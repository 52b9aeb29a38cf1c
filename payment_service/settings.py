"""Payment service settings: PAYMENT_* for the service, ALIPAY_* for the merchant app."""

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import DatabasePoolSettings, ServiceSettings
from shared.urls import with_query


class PaymentSettings(ServiceSettings, DatabasePoolSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/payment.db"
    order_service_url: str = "http://127.0.0.1:8000"
    public_url: str = "http://127.0.0.1:8001"
    spa_result_url: str = "http://127.0.0.1:8000/"
    relay_interval_seconds: float = Field(1.0, gt=0)
    reconcile_interval_seconds: float = Field(60.0, gt=0)
    reconcile_after_seconds: float = Field(300.0, ge=0)
    # HH:MM (Beijing) when the daily job reconciles yesterday's bill; empty: off
    bill_reconcile_at: str = Field("", pattern=r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]$")
    order_service_timeout_seconds: float = Field(
        5.0, gt=0, validation_alias=AliasChoices("PAYMENT_ORDER_TIMEOUT_SECONDS")
    )
    unverified_notifies_per_minute: int = Field(60, ge=0)

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

    def quit_url(self, order_id: str) -> str:
        """Where a buyer who leaves Alipay's wap cashier lands: the storefront's result page
        for the order, `result=left` (the order can still be paid until its deadline)."""
        return with_query(self.spa_result_url, {"order_id": order_id, "result": "left"})

    @model_validator(mode="after")
    def _seller_id_in_production(self):
        """A notify names the seller paid; in production it must be ours (§6.5)."""
        if self.environment == "production" and not self.alipay_seller_id:
            raise ValueError(
                "ALIPAY_SELLER_ID must be set when APP_ENV=production (your 2088… seller id): "
                "a notify for another seller is then refused"
            )
        return self
