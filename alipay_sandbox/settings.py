"""The emulator's settings (SANDBOX_*), and the keys they name, loaded once at start-up."""

from functools import cached_property

import structlog
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.alipay_sign import generate_key_pair, load_private_key, load_public_key
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


class SandboxSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SANDBOX_", env_file=".env", extra="ignore")

    private_key: str | None = None  # "Alipay's" private key: signs responses, returns, notifies
    app_id: str = "9021000000000001"
    app_public_key: str | None = None  # the merchant application's public key
    seller_id: str = "2088000000000001"
    notify_scale: float = Field(1.0, gt=0)
    notify_timeout_seconds: float = Field(10.0, gt=0)
    expiry_interval_seconds: float = Field(1.0, gt=0)
    public_url: str = "http://127.0.0.1:8002"

    def secret_fields(self) -> tuple[str, ...]:
        return ("private_key", "app_public_key")

    @cached_property
    def keys(self):
        """(Alipay private key, merchant public key). In development missing keys are made up."""
        private_key, app_public_key = self.private_key, self.app_public_key
        if private_key is None:
            private_pem, public_pem = generate_key_pair()
            private_key = private_pem.decode()
            log.warning("sandbox.generated_alipay_key", alipay_public_key=public_pem.decode())
        if app_public_key is None:
            merchant_private, merchant_public = generate_key_pair()
            app_public_key = merchant_public.decode()
            log.warning("sandbox.generated_merchant_key", app_private_key=merchant_private.decode())
        return load_private_key(private_key), load_public_key(app_public_key)
