"""Certificate mode end to end: our client (and the service process) against the emulator in
certificate mode; start-up errors that name the file; Alipay's certificate rotated."""

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from payment_service.alipay import (
    AlipayCertificateMismatch,
    AlipayClient,
    AlipayConfig,
    AlipayConfigurationError,
    TradeNotExist,
)
from shared.alipay_sign import KeyLoadError
from tests.support.processes import ServiceProcess, free_port, run_module

from .conftest import (
    APP_ID,
    SECRET,
    SELLER_ID,
    PaymentDb,
    create_payment,
    migrate,
    new_order_id,
    start_payment_service,
)


def make_certs(folder: Path) -> Path:
    run_module("alipay_sandbox", "make-certs", str(folder), "--app-id", APP_ID)
    return folder


def start_cert_sandbox(cert_dir: Path) -> ServiceProcess:
    port = free_port()
    env = {
        "APP_ENV": "test",
        "SERVICE_AUTH_SECRET": SECRET,
        "SANDBOX_CERT_DIR": str(cert_dir),
        "SANDBOX_APP_ID": APP_ID,
        "SANDBOX_SELLER_ID": SELLER_ID,
        "SANDBOX_NOTIFY_SCALE": "0.001",
        "SANDBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    return ServiceProcess(
        "alipay_sandbox.main:app", env=env, name="sandbox-cert", port=port
    ).start()


def cert_config(cert_dir: Path, gateway_url: str, **changes) -> AlipayConfig:
    values = {
        "app_id": APP_ID,
        "app_private_key": str(cert_dir / "app_private_key.pem"),
        "alipay_public_key": "",
        "gateway_url": gateway_url,
        "app_cert": str(cert_dir / "appCertPublicKey.crt"),
        "alipay_cert": str(cert_dir / "alipayCertPublicKey_RSA2.crt"),
        "root_cert": str(cert_dir / "alipayRootCert.crt"),
        **changes,
    }
    return AlipayConfig(**values)


@pytest.fixture(scope="module")
async def certs(tmp_path_factory):
    return await asyncio.to_thread(make_certs, tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
async def cert_sandbox(certs):
    process = await asyncio.to_thread(start_cert_sandbox, certs)
    yield process
    process.stop()


async def test_client_calls_in_certificate_mode(certs, cert_sandbox):
    client = AlipayClient(cert_config(certs, f"{cert_sandbox.url}/gateway.do"))
    try:
        params = client.signed_params("alipay.trade.query", {"out_trade_no": "X1"})
        assert params["app_cert_sn"] == client.certs.app_cert_sn
        assert params["alipay_root_cert_sn"] == client.certs.alipay_root_cert_sn
        with pytest.raises(TradeNotExist):  # a signed answer, verified with the cert's key
            await client.query("NoSuchTrade1")
    finally:
        await client.aclose()


async def test_the_service_takes_payments_in_certificate_mode(pg_databases, certs, cert_sandbox):
    url = await pg_databases.create("payment_cert")
    await asyncio.to_thread(migrate, url)
    service = await asyncio.to_thread(
        start_payment_service,
        url,
        f"{cert_sandbox.url}/gateway.do",
        f"http://127.0.0.1:{free_port()}",
        name="payment-cert",
        ALIPAY_APP_PRIVATE_KEY=str(certs / "app_private_key.pem"),
        ALIPAY_PUBLIC_KEY="",
        ALIPAY_APP_CERT=str(certs / "appCertPublicKey.crt"),
        ALIPAY_PUBLIC_CERT=str(certs / "alipayCertPublicKey_RSA2.crt"),
        ALIPAY_ROOT_CERT=str(certs / "alipayRootCert.crt"),
    )
    db = PaymentDb(url)
    try:
        order_id = new_order_id()
        response = await create_payment(service, order_id)
        assert response.status_code == 200, response.text
        pay_url = response.json()["pay_url"]
        assert "app_cert_sn=" in pay_url and "alipay_root_cert_sn=" in pay_url
        async with httpx.AsyncClient() as http:
            cashier = await http.get(pay_url)
            assert cashier.status_code == 200, cashier.text[:300]
            paid = await http.post(f"{cert_sandbox.url}/sandbox/trades/{order_id}/pay")
            assert paid.status_code == 200
        for _ in range(100):  # the notify, verified with the key of Alipay's certificate
            payment = await db.payment(order_id)
            if payment["status"] == "paid":
                break
            await asyncio.sleep(0.1)
        assert payment["status"] == "paid"
        assert [n["outcome"] for n in await db.notifies(order_id)] == ["paid"]
    finally:
        service.stop()
        await db.engine.dispose()


async def test_a_rotated_alipay_certificate_is_reported_with_the_file_to_fetch(
    certs, tmp_path_factory
):
    """The emulator signs with a new Alipay key and certificate; we still hold the old one."""
    rotated = tmp_path_factory.mktemp("rotated")
    other = await asyncio.to_thread(make_certs, tmp_path_factory.mktemp("other"))
    for name in ("alipayRootCert.crt", "appCertPublicKey.crt", "app_private_key.pem"):
        shutil.copy(certs / name, rotated / name)
    for name in ("alipayCertPublicKey_RSA2.crt", "alipay_private_key.pem"):
        shutil.copy(other / name, rotated / name)
    sandbox = await asyncio.to_thread(start_cert_sandbox, rotated)
    client = AlipayClient(cert_config(certs, f"{sandbox.url}/gateway.do"))
    try:
        with pytest.raises(AlipayCertificateMismatch) as raised:
            await client.query("AnyTrade1")
        message = str(raised.value)
        assert "alipayCertPublicKey_RSA2.crt" in message and "ALIPAY_PUBLIC_CERT" in message
        assert raised.value.expected == client.certs.alipay_cert_sn
        assert raised.value.given != raised.value.expected
    finally:
        await client.aclose()
        sandbox.stop()


def test_start_up_errors_name_what_is_wrong(certs, tmp_path):
    gateway = "http://127.0.0.1:9/gateway.do"
    with pytest.raises(KeyLoadError, match="missing: ALIPAY_ROOT_CERT"):
        AlipayClient(cert_config(certs, gateway, root_cert=""))
    public_key = tmp_path / "app_public_key.pem"
    run_module("payment_service", "keygen", str(tmp_path))
    with pytest.raises(KeyLoadError, match="ALIPAY_APP_CERT.*public key, not a public-key cert"):
        AlipayClient(cert_config(certs, gateway, app_cert=str(public_key)))
    with pytest.raises(KeyLoadError, match="does not certify the key of ALIPAY_APP_PRIVATE_KEY"):
        AlipayClient(
            cert_config(certs, gateway, app_private_key=str(tmp_path / "app_private_key.pem"))
        )


async def test_gateway_level_refusals_are_configuration_errors(certs, cert_sandbox, tmp_path):
    """Unsigned 40001/40002 from the gateway are final and name what to fix, never "retry"."""
    run_module("payment_service", "keygen", str(tmp_path))
    wrong_app = AlipayClient(cert_config(certs, f"{cert_sandbox.url}/gateway.do", app_id="20161"))
    try:
        with pytest.raises(AlipayConfigurationError, match="isv.invalid-app-id.*ALIPAY_APP_ID"):
            await wrong_app.query("AnyTrade2")
    finally:
        await wrong_app.aclose()
    key_mode = AlipayClient(
        AlipayConfig(
            app_id=APP_ID,
            app_private_key=str(certs / "app_private_key.pem"),
            alipay_public_key=str(tmp_path / "app_public_key.pem"),
            gateway_url=f"{cert_sandbox.url}/gateway.do",
        )
    )
    try:  # a key-mode request to a certificate-mode application
        with pytest.raises(AlipayConfigurationError, match="isv.missing-app-cert-sn"):
            await key_mode.query("AnyTrade3")
    finally:
        await key_mode.aclose()
