"""The emulator's settings (SANDBOX_*), and the keys they name, loaded once at start-up."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.alipay_cert import (
    ALIPAY_CERT_FILE,
    ALIPAY_KEY_FILE,
    APP_CERT_FILE,
    ROOT_CERT_FILE,
    cert_sn,
    load_certificate,
    load_certificates,
    root_cert_sn,
    rsa_public_key,
)
from shared.alipay_sign import generate_key_pair, load_private_key, load_public_key
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SandboxCerts:
    """What certificate mode needs, from the folder `make-certs` wrote."""

    alipay_private_key: rsa.RSAPrivateKey
    app_public_key: rsa.RSAPublicKey
    app_cert_sn: str  # expected in every request
    alipay_root_cert_sn: str  # expected in every request
    alipay_cert_sn: str  # sent with every response

    @classmethod
    def load(cls, directory: str) -> "SandboxCerts":
        folder = Path(directory)
        app = load_certificate(str(folder / APP_CERT_FILE), APP_CERT_FILE)
        alipay = load_certificate(str(folder / ALIPAY_CERT_FILE), ALIPAY_CERT_FILE)
        private_key = load_private_key(str(folder / ALIPAY_KEY_FILE))
        if private_key.public_key().public_numbers() != rsa_public_key(alipay).public_numbers():
            raise ValueError(f"{ALIPAY_KEY_FILE} is not the key of {ALIPAY_CERT_FILE}")
        return cls(
            alipay_private_key=private_key,
            app_public_key=rsa_public_key(app, APP_CERT_FILE),
            app_cert_sn=cert_sn(app),
            alipay_root_cert_sn=root_cert_sn(
                load_certificates(str(folder / ROOT_CERT_FILE), ROOT_CERT_FILE)
            ),
            alipay_cert_sn=cert_sn(alipay),
        )


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
    # Certificate mode: the folder `make-certs` wrote (its keys and certificates replace
    # private_key and app_public_key).
    cert_dir: str | None = None

    def secret_fields(self) -> tuple[str, ...]:
        return () if self.cert_dir else ("private_key", "app_public_key")

    def refuse_environment(self) -> None:
        """Never in production: its cashier (and POST /sandbox/trades/{id}/pay) pays whatever
        anyone asks, so it belongs to development and tests (issue 10, item 10)."""
        if self.environment == "production":
            raise ValueError(
                "the Alipay emulator does not run with APP_ENV=production: anyone who reaches "
                "it can pay any trade. Run it with APP_ENV=development or test, in a sandbox "
                "deployment only (ALIPAY_SANDBOX=true on the payment service)."
            )

    @cached_property
    def certs(self) -> SandboxCerts | None:
        return SandboxCerts.load(self.cert_dir) if self.cert_dir else None

    @cached_property
    def keys(self) -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
        """(Alipay private key, merchant public key). In development missing keys are made up."""
        if self.certs:
            return self.certs.alipay_private_key, self.certs.app_public_key
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
