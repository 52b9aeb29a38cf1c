import pytest
from pydantic import ValidationError

from shared.settings import DEV_PLACEHOLDER, ServiceSettings


def test_development_accepts_the_placeholder_secret(monkeypatch):
    monkeypatch.delenv("SERVICE_AUTH_SECRET", raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    assert ServiceSettings(_env_file=None).service_auth_secret == DEV_PLACEHOLDER


@pytest.mark.parametrize("environment", ["production", "test"])
def test_other_environments_refuse_the_placeholder(monkeypatch, environment):
    monkeypatch.delenv("SERVICE_AUTH_SECRET", raising=False)
    monkeypatch.setenv("APP_ENV", environment)
    with pytest.raises(ValidationError, match="service_auth_secret"):
        ServiceSettings(_env_file=None)


REAL = "0123456789abcdef0123456789abcdef"  # 32 bytes


def test_a_real_secret_is_accepted_in_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SERVICE_AUTH_SECRET", REAL)
    assert ServiceSettings(_env_file=None).service_auth_secret == REAL


def test_production_refuses_a_secret_shorter_than_32_bytes(monkeypatch):
    """Issue 10, item 10: any non-placeholder value was accepted, "s1" included."""
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SERVICE_AUTH_SECRET", REAL[:31])
    with pytest.raises(ValidationError, match="service_auth_secret.*32 bytes"):
        ServiceSettings(_env_file=None)
    # counted in bytes, not characters: 11 three-byte characters are 33 bytes
    monkeypatch.setenv("SERVICE_AUTH_SECRET", "密" * 11)
    assert ServiceSettings(_env_file=None).service_auth_secret == "密" * 11


def test_production_needs_the_seller_id(monkeypatch):
    from payment_service.settings import PaymentSettings

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SERVICE_AUTH_SECRET", REAL)
    monkeypatch.setenv("ALIPAY_GATEWAY_URL", "https://openapi.alipay.com/gateway.do")
    monkeypatch.delenv("ALIPAY_SELLER_ID", raising=False)
    with pytest.raises(ValidationError, match="ALIPAY_SELLER_ID"):
        PaymentSettings(_env_file=None)
    monkeypatch.setenv("ALIPAY_SELLER_ID", "2088000000000001")
    assert PaymentSettings(_env_file=None).alipay_seller_id == "2088000000000001"
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delenv("ALIPAY_SELLER_ID")
    assert PaymentSettings(_env_file=None).alipay_seller_id == ""


def production_payment(monkeypatch, **env: str):
    from payment_service.settings import PaymentSettings

    for name in ("ALIPAY_SANDBOX", "ALIPAY_PUBLIC_KEY", "ALIPAY_PUBLIC_CERT", "METRICS_PUBLIC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SERVICE_AUTH_SECRET", REAL)
    monkeypatch.setenv("ALIPAY_SELLER_ID", "2088000000000001")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PaymentSettings(_env_file=None)


@pytest.mark.parametrize(
    "gateway",
    [
        "http://sandbox.localhost:8002/gateway.do",  # compose's emulator
        "http://openapi.alipay.com/gateway.do",  # Alipay's host, but not over https
        "https://openapi.alipay.com.evil.example/gateway.do",
    ],
)
def test_production_refuses_a_gateway_that_is_not_alipays_unless_it_is_a_sandbox(
    monkeypatch, gateway
):
    """Issue 10, item 10: compose ran production against the emulator, which pays anyone."""
    with pytest.raises(ValidationError, match="ALIPAY_GATEWAY_URL.*ALIPAY_SANDBOX=true"):
        production_payment(monkeypatch, ALIPAY_GATEWAY_URL=gateway)
    settings = production_payment(monkeypatch, ALIPAY_GATEWAY_URL=gateway, ALIPAY_SANDBOX="true")
    assert settings.alipay_sandbox


@pytest.mark.parametrize(
    "gateway",
    [
        "https://openapi.alipay.com/gateway.do",
        "https://openapi-sandbox.dl.alipaydev.com/gateway.do",
        "https://openapi.alipaydev.com/gateway.do",
    ],
)
def test_production_accepts_alipays_own_gateways(monkeypatch, gateway):
    assert production_payment(monkeypatch, ALIPAY_GATEWAY_URL=gateway).alipay_gateway_url == gateway


def test_production_refuses_a_key_whose_private_half_lies_beside_it(monkeypatch, tmp_path):
    """The emulator's key (compose's keys volume: keygen's pair) is not Alipay's, whatever the
    gateway says."""
    from tests.support.keys import write_key_pair

    emulator = write_key_pair(tmp_path, "app")
    alipay = "https://openapi.alipay.com/gateway.do"
    with pytest.raises(ValidationError, match="ALIPAY_PUBLIC_KEY is a key made here"):
        production_payment(
            monkeypatch, ALIPAY_GATEWAY_URL=alipay, ALIPAY_PUBLIC_KEY=str(emulator.public_path)
        )
    assert production_payment(
        monkeypatch,
        ALIPAY_GATEWAY_URL=alipay,
        ALIPAY_PUBLIC_KEY=str(emulator.public_path),
        ALIPAY_SANDBOX="true",
    )
    # Alipay's key alone in its folder, or given as text, is what production expects
    (tmp_path / "app_private_key.pem").unlink()
    for key in (str(emulator.public_path), emulator.public_pem):
        assert production_payment(monkeypatch, ALIPAY_GATEWAY_URL=alipay, ALIPAY_PUBLIC_KEY=key)


def test_the_emulator_refuses_production(monkeypatch):
    from alipay_sandbox.settings import SandboxSettings

    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ValidationError, match="emulator does not run with APP_ENV=production"):
        SandboxSettings(_env_file=None)
    monkeypatch.setenv("APP_ENV", "development")
    assert SandboxSettings(_env_file=None).environment == "development"


@pytest.mark.parametrize(
    "environment, setting, public",
    [
        ("development", None, True),
        ("test", None, True),
        ("production", None, False),
        ("production", "true", True),
        ("test", "false", False),
    ],
)
def test_metrics_are_public_outside_production_unless_set(
    monkeypatch, environment, setting, public
):
    monkeypatch.setenv("APP_ENV", environment)
    monkeypatch.setenv("SERVICE_AUTH_SECRET", REAL)
    monkeypatch.delenv("METRICS_PUBLIC", raising=False)
    if setting is not None:
        monkeypatch.setenv("METRICS_PUBLIC", setting)
    assert ServiceSettings(_env_file=None).metrics_are_public() is public
