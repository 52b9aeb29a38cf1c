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
    monkeypatch.delenv("ALIPAY_SELLER_ID", raising=False)
    with pytest.raises(ValidationError, match="ALIPAY_SELLER_ID"):
        PaymentSettings(_env_file=None)
    monkeypatch.setenv("ALIPAY_SELLER_ID", "2088000000000001")
    assert PaymentSettings(_env_file=None).alipay_seller_id == "2088000000000001"
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delenv("ALIPAY_SELLER_ID")
    assert PaymentSettings(_env_file=None).alipay_seller_id == ""
