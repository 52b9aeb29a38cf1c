"""Certificate mode at the emulator: `make-certs`, `SANDBOX_CERT_DIR`, python-alipay-sdk's
certificate client (DCAliPay) as the merchant."""

import json
from pathlib import Path

import httpx
import pytest
from alipay import AliPay, DCAliPay
from cryptography.hazmat.primitives import serialization

from shared.alipay_cert import cert_sn, load_certificate
from shared.alipay_sign import extract_response_content, verify_bytes
from tests.support.cashier import log_in
from tests.support.processes import ServiceProcess, free_port, run_module

from .conftest import APP_ID, SCALE, SELLER_ID, BeijingTimestamps, out_trade_no


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    output = run_module("alipay_sandbox", "make-certs", str(folder), "--app-id", APP_ID)
    assert "SANDBOX_CERT_DIR=" in output
    return folder


@pytest.fixture(scope="module")
def cert_emulator(cert_dir):
    port = free_port()
    process = ServiceProcess(
        app="alipay_sandbox.main:app",
        name="alipay-sandbox-cert",
        port=port,
        env={
            "SANDBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "APP_ENV": "test",
            "SANDBOX_CERT_DIR": str(cert_dir),
            "SANDBOX_APP_ID": APP_ID,
            "SANDBOX_SELLER_ID": SELLER_ID,
            "SANDBOX_NOTIFY_SCALE": str(SCALE),
        },
    ).start()
    yield process
    process.stop()


def read(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


class CertMerchant(BeijingTimestamps, DCAliPay):
    def __init__(self, gateway: str, **kwargs):
        super().__init__(**kwargs)
        self._gateway = gateway


def dc_merchant(emulator, folder: Path, receiver_url="http://127.0.0.1:9/notify") -> CertMerchant:
    return CertMerchant(
        gateway=f"{emulator.url}/gateway.do",
        appid=APP_ID,
        app_notify_url=receiver_url,
        app_private_key_string=read(folder, "app_private_key.pem"),
        app_public_key_cert_string=read(folder, "appCertPublicKey.crt"),
        alipay_public_key_cert_string=read(folder, "alipayCertPublicKey_RSA2.crt"),
        alipay_root_cert_string=read(folder, "alipayRootCert.crt"),
    )


def test_make_certs_writes_alipays_files(cert_dir):
    names = sorted(path.name for path in cert_dir.iterdir())
    assert names == [
        "alipayCertPublicKey_RSA2.crt",
        "alipayRootCert.crt",
        "alipay_private_key.pem",
        "appCertPublicKey.crt",
        "app_private_key.pem",
    ]
    assert read(cert_dir, "alipayRootCert.crt").count("BEGIN CERTIFICATE") == 2


def test_python_alipay_sdk_cert_client_pays_and_queries(cert_emulator, cert_dir):
    merchant = dc_merchant(cert_emulator, cert_dir)
    number = out_trade_no("C")
    query = merchant.api_alipay_trade_page_pay(
        subject="cert", out_trade_no=number, total_amount="3.00", return_url="http://x.example/r"
    )
    assert "app_cert_sn=" in query and "alipay_root_cert_sn=" in query
    cashier = log_in(f"{cert_emulator.url}/gateway.do?{query}")
    assert cashier.status_code == 200, cashier.text[:500]
    # DCAliPay verifies the response with the key of alipayCertPublicKey_RSA2.crt.
    result = merchant.api_alipay_trade_query(out_trade_no=number)
    assert result["code"] == "10000" and result["trade_status"] == "WAIT_BUYER_PAY"
    paid = httpx.post(f"{cert_emulator.url}/sandbox/trades/{number}/pay", timeout=10)
    assert paid.status_code == 200
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_SUCCESS"


def test_responses_carry_alipay_cert_sn_and_are_signed_by_that_certificate(cert_emulator, cert_dir):
    merchant = dc_merchant(cert_emulator, cert_dir)
    data = merchant.build_body("alipay.trade.query", {"out_trade_no": "NoSuch1"})
    body = httpx.post(
        f"{cert_emulator.url}/gateway.do",
        content=merchant.sign_data(data),
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).text
    envelope = json.loads(body)
    certificate = load_certificate(read(cert_dir, "alipayCertPublicKey_RSA2.crt"))
    assert envelope["alipay_cert_sn"] == cert_sn(certificate)
    assert envelope["alipay_trade_query_response"]["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    content = extract_response_content(body, "alipay_trade_query_response")
    assert verify_bytes(content.encode(), envelope["sign"], certificate.public_key())


def test_a_key_mode_request_is_refused_by_a_cert_mode_app(cert_emulator, cert_dir):
    alipay_key = load_certificate(read(cert_dir, "alipayCertPublicKey_RSA2.crt")).public_key()
    merchant = AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=read(cert_dir, "app_private_key.pem"),
        alipay_public_key_string=alipay_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
    )
    query = merchant.api_alipay_trade_page_pay(
        subject="k", out_trade_no=out_trade_no("K"), total_amount="1.00"
    )
    page = httpx.get(f"{cert_emulator.url}/gateway.do?{query}", timeout=10)
    assert page.status_code == 400
    assert "isv.missing-app-cert-sn" in page.text


@pytest.mark.parametrize(
    ("field", "sub_code"),
    [
        ("app_cert_sn", "isv.app-cert-not-exist"),
        ("alipay_root_cert_sn", "isv.invalid-alipay-root-cert-sn"),
    ],
)
def test_a_wrong_serial_number_is_refused(cert_emulator, cert_dir, field, sub_code):
    merchant = dc_merchant(cert_emulator, cert_dir)
    data = merchant.build_body("alipay.trade.query", {"out_trade_no": "NoSuch2"})
    data[field] = "0" * 32
    body = httpx.post(
        f"{cert_emulator.url}/gateway.do",
        content=merchant.sign_data(data),
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).json()
    assert body["alipay_trade_query_response"]["code"] == "40002"
    assert body["alipay_trade_query_response"]["sub_code"] == sub_code
