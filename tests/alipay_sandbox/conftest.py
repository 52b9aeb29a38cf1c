"""The emulator as a real process, python-alipay-sdk as the merchant, and a notify receiver."""

import itertools
import time
from datetime import datetime, timedelta, timezone

import pytest
from alipay import AliPay

from tests.support.keys import write_key_pair
from tests.support.processes import ServiceProcess, free_port

from .receiver import NotifyReceiver

APP_ID = "9021000111111111"
SELLER_ID = "2088000000000042"
BEIJING = timezone(timedelta(hours=8))
SCALE = 0.001  # Alipay's 4m,10m,10m,1h,... become 0.24s, 0.6s, 0.6s, 3.6s, ...

_numbers = itertools.count(1)


def out_trade_no(prefix: str = "T") -> str:
    """Letters and digits, unique per test run."""
    return f"{prefix}{int(time.time() * 1000)}{next(_numbers):04d}"


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """Key files: the merchant's pair and "Alipay's" pair, as a deployment would have them."""
    folder = tmp_path_factory.mktemp("keys")
    pairs = {owner: write_key_pair(folder, owner) for owner in ("app", "alipay")}
    pems = {owner: (pair.private_pem, pair.public_pem) for owner, pair in pairs.items()}
    return {"folder": folder, "pems": pems}


@pytest.fixture(scope="session")
def emulator(keys):
    folder = keys["folder"]
    port = free_port()
    process = ServiceProcess(
        app="alipay_sandbox.main:app",
        name="alipay-sandbox",
        port=port,
        env={
            "SANDBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "APP_ENV": "test",
            "SANDBOX_PRIVATE_KEY": str(folder / "alipay_private_key.pem"),
            "SANDBOX_APP_ID": APP_ID,
            "SANDBOX_APP_PUBLIC_KEY": str(folder / "app_public_key.pem"),
            "SANDBOX_SELLER_ID": SELLER_ID,
            "SANDBOX_NOTIFY_SCALE": str(SCALE),
            "SANDBOX_EXPIRY_INTERVAL_SECONDS": "0.2",
        },
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def receiver():
    server = NotifyReceiver().start()
    yield server
    server.stop()


def beijing_now() -> str:
    return datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


class BeijingTimestamps:
    """python-alipay-sdk stamps requests with `datetime.now()`, the server's own zone, and the
    gateway refuses a timestamp 8 hours off; this machine's zone is UTC, so stamp Beijing time
    as a merchant running in China (or fixing the SDK) would."""

    def build_body(self, *args, **kwargs):
        data = super().build_body(*args, **kwargs)
        data["timestamp"] = beijing_now()
        return data


class Merchant(BeijingTimestamps, AliPay):
    """python-alipay-sdk, pointed at the emulator instead of openapi.alipay.com."""

    def __init__(self, gateway: str, **kwargs):
        super().__init__(**kwargs)
        self._gateway = gateway

    def page_pay_url(self, **kwargs) -> str:
        return f"{self._gateway}?{self.api_alipay_trade_page_pay(**kwargs)}"

    def wap_pay_url(self, **kwargs) -> str:
        return f"{self._gateway}?{self.api_alipay_trade_wap_pay(**kwargs)}"


def make_merchant(
    emulator, keys, receiver, app_private_pem=None, appid=APP_ID, **kwargs
) -> Merchant:
    return Merchant(
        gateway=f"{emulator.url}/gateway.do",
        appid=appid,
        app_notify_url=receiver.url,
        app_private_key_string=app_private_pem or keys["pems"]["app"][0],
        alipay_public_key_string=keys["pems"]["alipay"][1],
        sign_type="RSA2",
        **kwargs,
    )


@pytest.fixture
def merchant(emulator, keys, receiver) -> Merchant:
    return make_merchant(emulator, keys, receiver)
