"""Alipay signing and verifying throughput, in-process, one core:
ours (shared.alipay_sign on `cryptography`) against python-alipay-sdk on the same parameters,
and both against `openssl speed -seconds 3 rsa2048` on this machine.

    python -m bench.signing [--seconds 3] [--rounds 3] [--json]

Each side does the whole job for one message: build the canonical string from the parameter
set, then sign it (or verify a notify). Targets (issue 3): signing at >= 90% of OpenSSL's
sign/s and >= 2x python-alipay-sdk's.

The three are measured in interleaved rounds and each keeps its best round, so that other load
on the machine (a test run, another process) does not favour whichever ran in a quiet moment.
"""

import argparse
import json
import platform
import re
import subprocess
import time

from alipay import AliPay
from cryptography.hazmat.backends.openssl import backend

from shared.alipay_sign import (
    NOTIFY_EXCLUDED,
    generate_key_pair,
    load_private_key,
    load_public_key,
    sign_bytes,
    sign_params,
    signing_string,
    verify_params,
)

REQUEST = {
    "app_id": "2021000000000001",
    "method": "alipay.trade.page.pay",
    "charset": "utf-8",
    "sign_type": "RSA2",
    "timestamp": "2024-01-02 03:04:05",
    "version": "1.0",
    "notify_url": "https://shop.example/alipay/notify",
    "return_url": "https://shop.example/alipay/return",
    "biz_content": '{"out_trade_no":"O20240102030405A1","total_amount":"88.80",'
    '"subject":"\\u6d4b\\u8bd5\\u8ba2\\u5355","product_code":"FAST_INSTANT_TRADE_PAY",'
    '"time_expire":"2024-01-02 03:34:05"}',
}
NOTIFY = {
    "notify_time": "2024-01-02 03:05:00",
    "notify_type": "trade_status_sync",
    "notify_id": "ac05099524730693a8b330c5ecf72da9786",
    "app_id": "2021000000000001",
    "charset": "utf-8",
    "version": "1.0",
    "sign_type": "RSA2",
    "trade_no": "2024010222001400000000000001",
    "out_trade_no": "O20240102030405A1",
    "trade_status": "TRADE_SUCCESS",
    "total_amount": "88.80",
    "receipt_amount": "88.80",
    "subject": "测试订单",
    "seller_id": "2088000000000001",
    "gmt_payment": "2024-01-02 03:04:59",
    "fund_bill_list": '[{"amount":"88.80","fundChannel":"ALIPAYACCOUNT"}]',
}


def rate(operation, seconds: float) -> float:
    """Operations per second over at least `seconds` of wall-clock."""
    operation()  # warm-up
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(20):
            operation()
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def openssl_speed(seconds: int) -> dict[str, float]:
    output = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "rsa2048"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # "rsa 2048 bits 0.000704s 0.000021s   1420.5  47619.0"
    match = re.search(r"rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", output)
    if not match:
        raise RuntimeError(f"cannot read openssl speed output:\n{output}")
    return {"sign": float(match.group(1)), "verify": float(match.group(2))}


def _openssl_version() -> str:
    return subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()


def measure(seconds: float, rounds: int) -> dict:
    app_private_pem, app_public_pem = (k.decode() for k in generate_key_pair())
    alipay_private_pem, alipay_public_pem = (k.decode() for k in generate_key_pair())
    app_key = load_private_key(app_private_pem)
    alipay_public = load_public_key(alipay_public_pem)
    notify = dict(NOTIFY)
    notify["sign"] = sign_bytes(
        signing_string(notify, NOTIFY_EXCLUDED).encode(), load_private_key(alipay_private_pem)
    )
    sdk = AliPay(
        appid=REQUEST["app_id"],
        app_notify_url=None,
        app_private_key_string=app_private_pem,
        alipay_public_key_string=alipay_public_pem,
    )

    def sdk_string(data: dict) -> str:
        return "&".join(f"{k}={v}" for k, v in sdk._ordered_data(data))

    def sdk_sign():
        return sdk._sign(sdk_string(dict(REQUEST)))

    def sdk_verify():
        data = {k: v for k, v in notify.items() if k != "sign"}
        assert sdk.verify(data, notify["sign"])

    def our_sign():
        return sign_params(REQUEST, app_key)

    def our_verify():
        assert verify_params(notify, alipay_public)

    assert our_sign() == sdk_sign(), "the two implementations disagree"
    subjects = {
        "ours": {"sign": our_sign, "verify": our_verify},
        "python-alipay-sdk": {"sign": sdk_sign, "verify": sdk_verify},
    }
    best: dict[str, dict[str, float]] = {
        name: {"sign": 0.0, "verify": 0.0} for name in (*subjects, "openssl")
    }
    for _ in range(rounds):
        for name, operations in subjects.items():
            for kind, operation in operations.items():
                best[name][kind] = max(best[name][kind], rate(operation, seconds))
        for kind, value in openssl_speed(max(1, round(seconds))).items():
            best["openssl"][kind] = max(best["openssl"][kind], value)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.signing")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    results = measure(args.seconds, args.rounds)
    ours, sdk, openssl = results["ours"], results["python-alipay-sdk"], results["openssl"]
    results["ratios"] = {
        "ours_vs_openssl_sign": ours["sign"] / openssl["sign"],
        "ours_vs_sdk_sign": ours["sign"] / sdk["sign"],
        "ours_vs_openssl_verify": ours["verify"] / openssl["verify"],
        "ours_vs_sdk_verify": ours["verify"] / sdk["verify"],
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"RSA-2048, RSA2 (SHA256withRSA), one core, best of {args.rounds} rounds of "
        f"{args.seconds:g} s; {platform.machine()}, Python {platform.python_version()}, "
        f"cryptography on {backend.openssl_version_text()}, {_openssl_version()}"
    )
    print(f"{'':22}{'sign/s':>10}{'verify/s':>11}")
    for name, numbers in (("ours", ours), ("python-alipay-sdk", sdk), ("openssl speed", openssl)):
        print(f"{name:22}{numbers['sign']:>10.0f}{numbers['verify']:>11.0f}")
    ratios = results["ratios"]
    print(
        f"signing: {ratios['ours_vs_openssl_sign']:.0%} of OpenSSL (target >= 90%), "
        f"{ratios['ours_vs_sdk_sign']:.1f}x python-alipay-sdk (target >= 2x)"
    )
    print(
        f"verifying: {ratios['ours_vs_openssl_verify']:.0%} of OpenSSL, "
        f"{ratios['ours_vs_sdk_verify']:.1f}x python-alipay-sdk"
    )


if __name__ == "__main__":
    main()
