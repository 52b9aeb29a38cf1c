"""Payment service settings: PAYMENT_* for the service, ALIPAY_* for the merchant app."""

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.alipay_sign import KeyLoadError, load_private_key, load_public_key
from shared.settings import DatabasePoolSettings, ServiceSettings
from shared.urls import with_query

# Alipay's gateways: production, and Alipay's own sandbox (old and new host). Any other gateway
# (the emulator above all, whose cashier pays whatever anyone asks) is a sandbox of our own.
ALIPAY_GATEWAY_HOSTS = (
    "openapi.alipay.com",
    "openapi-sandbox.dl.alipaydev.com",
    "openapi.alipaydev.com",
)


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
    # true: the gateway is a sandbox (the emulator, or Alipay's sandbox), so production may trust
    # it; nothing paid through it is real money.
    alipay_sandbox: bool = Field(False, validation_alias=AliasChoices("ALIPAY_SANDBOX"))

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

    @model_validator(mode="after")
    def _alipay_itself_in_production(self):
        """Production trusts only Alipay (issue 10, item 10): its gateway over https, and a key
        that is Alipay's, not one made here (as the emulator's is), unless ALIPAY_SANDBOX=true."""
        if self.environment != "production" or self.alipay_sandbox:
            return self
        gateway = urlsplit(self.alipay_gateway_url)
        if gateway.scheme != "https" or gateway.hostname not in ALIPAY_GATEWAY_HOSTS:
            raise ValueError(
                f"ALIPAY_GATEWAY_URL={self.alipay_gateway_url} is not Alipay's gateway "
                "(https://openapi.alipay.com/gateway.do) and APP_ENV=production: anyone who "
                "reaches an emulator can pay at it. Set ALIPAY_SANDBOX=true if this deployment "
                "is a sandbox that takes no real money."
            )
        if not self.alipay_public_cert and _private_half_beside(self.alipay_public_key):
            raise ValueError(
                "ALIPAY_PUBLIC_KEY is a key made here (its private key lies beside it, as for "
                "the emulator), not Alipay's, and APP_ENV=production. Use the Alipay public key "
                "the open-platform console shows, or set ALIPAY_SANDBOX=true for a sandbox."
            )
        return self


def _private_half_beside(public_key: str) -> bool:
    """Whether `public_key` names a file with its own private key in the same folder: a pair
    made by `keygen` (the emulator's, in compose's keys volume), never Alipay's key, whose
    private half only Alipay holds."""
    try:
        path = Path(public_key)
        if not path.is_file():
            return False
        numbers = load_public_key(public_key).public_numbers()
        candidates = sorted(path.parent.glob("*private*.pem"))
    except (OSError, ValueError, KeyLoadError):  # PEM text, not a path; or not a key
        return False
    for candidate in candidates:
        try:
            if load_private_key(str(candidate)).public_key().public_numbers() == numbers:
                return True
        except (OSError, ValueError, KeyLoadError):
            continue
    return False
