"""Our Alipay client in-process: vectors of alipay-protocol.md §12, formats, key handling."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from payment_service.alipay import (
    AlipayClient,
    AlipayConfig,
    AlipayConfigurationError,
    AlipayGatewayError,
    AlipaySystemError,
)
from payment_service.alipay.errors import (
    AlipayBusinessError,
    TradeNotExist,
    TradeStatusError,
    business_error,
)
from payment_service.alipay.params import alipay_time, amount, biz_content
from shared.alipay_sign import (
    KeyLoadError,
    extract_response_content,
    load_private_key,
    sign_bytes,
    signing_string,
)
from tests.payment_service.keys import FZLEE_PRIVATE_PEM, VECTORS, pair, public_pem_of

V1 = VECTORS["V1"]
V1_NOW = datetime(2024, 1, 1, 19, 4, 5, tzinfo=UTC)  # 2024-01-02 03:04:05 in Beijing


def client(private_pem=FZLEE_PRIVATE_PEM, alipay_public=None, sign_type="RSA2", app_id=None):
    return AlipayClient(
        AlipayConfig(
            app_id=app_id or V1["app_id"],
            app_private_key=private_pem,
            alipay_public_key=alipay_public or public_pem_of(FZLEE_PRIVATE_PEM),
            gateway_url="http://127.0.0.1:9/gateway.do",
            sign_type=sign_type,
        )
    )


def test_v1_page_pay_request_string_and_signature():
    params = client().signed_params(
        V1["method"],
        V1["biz"],
        now=V1_NOW,
        notify_url=V1["notify_url"],
        return_url=V1["return_url"],
    )
    assert signing_string(params) == V1["signing_string"]
    assert params["sign"] == V1["sign"]
    assert len(params["sign"]) == 344


def test_v3_notify_signing_string_and_signature_verify():
    notify = dict(VECTORS["V3"]["notify"], sign=VECTORS["V3"]["sign"])
    assert signing_string(notify, ("sign", "sign_type")) == VECTORS["V3"]["signing_string"]
    assert client().verify_callback(notify)
    assert not client().verify_callback(dict(notify, total_amount="12.01"))
    assert not client().verify_callback(dict(notify, sign_type="RSA"))


@pytest.mark.parametrize("body, expected", VECTORS["V4"]["cases"])
def test_v4_response_substring(body, expected):
    assert extract_response_content(body, VECTORS["V4"]["node"]) == expected


@pytest.mark.parametrize("body", VECTORS["V4"]["truncated"])
def test_v4_truncated_response_does_not_raise(body):
    assert extract_response_content(body, VECTORS["V4"]["node"]) is None


def test_v4_escaped_slashes_are_verified_as_sent():
    key = load_private_key(FZLEE_PRIVATE_PEM)
    template = VECTORS["V4"]["escaped_slashes"]
    inner = extract_response_content(template, "alipay_trade_precreate_response")
    assert "\\/" in inner
    body = template.replace("SIGN", sign_bytes(inner.encode(), key))
    result = client().verified_response(body.encode(), "alipay.trade.precreate")
    assert result["qr_code"] == "https://qr.alipay.com/bax0"


def test_timestamp_is_beijing_time_whatever_the_zone_of_the_input():
    moment = datetime(2024, 1, 1, 19, 4, 5, tzinfo=UTC)
    assert alipay_time(moment) == "2024-01-02 03:04:05"
    new_york = moment.astimezone(timezone(timedelta(hours=-5)))
    assert alipay_time(new_york) == "2024-01-02 03:04:05"
    with pytest.raises(ValueError):
        alipay_time(datetime(2024, 1, 1))


def test_amounts_have_two_decimals_and_floats_are_refused():
    assert amount(Decimal("12.5")) == "12.50"
    assert amount("7") == "7.00"
    with pytest.raises(TypeError):
        amount(0.1 + 0.2)


def test_biz_content_is_compact_with_ascii_escapes():
    assert biz_content({"subject": "测试", "total_amount": "1.00"}) == (
        '{"subject":"\\u6d4b\\u8bd5","total_amount":"1.00"}'
    )


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@pytest.mark.parametrize(
    "channel, method, product_code",
    [
        ("page", "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
        ("wap", "alipay.trade.wap.pay", "QUICK_WAP_WAY"),
    ],
)
def test_pay_links_carry_urls_deadline_and_a_valid_signature(channel, method, product_code):
    deadline = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    url = client().pay_url(
        channel,
        "A1b2",
        Decimal("88.8"),
        "书 & pen",
        deadline,
        "https://shop.example/alipay/notify",
        "https://shop.example/alipay/return",
    )
    assert url.startswith("http://127.0.0.1:9/gateway.do?")
    params = _query(url)
    biz = json.loads(params["biz_content"])
    assert params["method"] == method
    assert params["notify_url"] == "https://shop.example/alipay/notify"
    assert params["return_url"] == "https://shop.example/alipay/return"
    assert biz == {
        **biz,
        "out_trade_no": "A1b2",
        "total_amount": "88.80",
        "subject": "书 pen",  # `&` is one of the characters Alipay forbids in a subject
        "product_code": product_code,
        "time_expire": "2030-05-06 15:08:09",
    }
    assert "\\u4e66" in params["biz_content"]  # serialised with escapes, sent as signed
    key = load_private_key(FZLEE_PRIVATE_PEM)
    assert params["sign"] == sign_bytes(signing_string(params).encode(), key)


def test_rsa_sign_type_uses_sha1():
    params = client(sign_type="RSA").signed_params("alipay.trade.query", {"out_trade_no": "1"})
    assert params["sign_type"] == "RSA"
    key = load_private_key(FZLEE_PRIVATE_PEM)
    assert params["sign"] == sign_bytes(signing_string(params).encode(), key, "RSA")
    assert params["sign"] != sign_bytes(signing_string(params).encode(), key, "RSA2")


def _bare_base64(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def test_keys_load_as_pkcs1_pkcs8_bare_base64_and_file(tmp_path):
    pkcs8, public = pair("app")
    path = tmp_path / "key.pem"
    path.write_text(pkcs8)
    expected = client(pkcs8).signed_params("m", {}, now=V1_NOW)["sign"]
    for source in (_bare_base64(pkcs8), str(path)):
        assert client(source).signed_params("m", {}, now=V1_NOW)["sign"] == expected
    # PKCS#1 (fzlee's key) as bare base64, and the public key bare as the console shows it
    fzlee_bare = client(
        _bare_base64(FZLEE_PRIVATE_PEM),
        alipay_public=_bare_base64(public_pem_of(FZLEE_PRIVATE_PEM)),
    )
    assert (
        fzlee_bare.signed_params(
            V1["method"],
            V1["biz"],
            now=V1_NOW,
            notify_url=V1["notify_url"],
            return_url=V1["return_url"],
        )["sign"]
        == V1["sign"]
    )


@pytest.mark.parametrize(
    "private, public, names",
    [
        ("not a key", None, "ALIPAY_APP_PRIVATE_KEY"),
        (FZLEE_PRIVATE_PEM, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", "ALIPAY_PUBLIC_KEY"),
        ("", None, "ALIPAY_APP_PRIVATE_KEY"),
    ],
)
def test_a_bad_key_fails_at_construction_naming_the_setting(private, public, names):
    with pytest.raises(KeyLoadError, match=names):
        client(private, alipay_public=public)


def test_response_signature_is_checked_over_the_exact_raw_substring():
    alipay_private, alipay_public = pair("alipay")
    ours = client(alipay_public=alipay_public)
    inner = '{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS","total_amount":"1.00"}'
    signature = sign_bytes(inner.encode(), load_private_key(alipay_private))
    body = '{"alipay_trade_query_response":' + inner + ',"sign":"' + signature + '"}'
    assert ours.verified_response(body.encode(), "alipay.trade.query")["trade_status"] == (
        "TRADE_SUCCESS"
    )
    # the same JSON re-spaced is not what was signed
    spaced = body.replace('"code":"10000"', '"code": "10000"')
    with pytest.raises(AlipayGatewayError):
        ours.verified_response(spaced.encode(), "alipay.trade.query")
    # a duplicated key outside the signed node cannot smuggle data in (fzlee#69)
    forged = body[:-1] + ',"alipay_trade_query_response":{"trade_status":"TRADE_SUCCESS"}}'
    assert ours.verified_response(forged.encode(), "alipay.trade.query")["code"] == "10000"
    with pytest.raises(AlipayConfigurationError, match="isv.invalid-app-id.*ALIPAY_APP_ID"):
        ours.verified_response(
            b'{"error_response":{"code":"40002","sub_code":"isv.invalid-app-id"}}',
            "alipay.trade.query",
        )
    with pytest.raises(AlipaySystemError):  # unsigned 20000: Alipay's trouble, retried
        ours.verified_response(
            b'{"alipay_trade_query_response":{"code":"20000","sub_code":"isp.unknow-error"}}',
            "alipay.trade.query",
        )
    for bad in (
        b'{"error_response":{"code":"99999","sub_code":"who.knows"}}',
        b'{"alipay_trade_query_response":{"code":"10000","trade_status":"TRADE_SUCCESS"}}',
        b"<html>502</html>",
        body.replace(signature, base64.b64encode(b"x" * 256).decode()).encode(),
    ):
        with pytest.raises(AlipayGatewayError):
            ours.verified_response(bad, "alipay.trade.query")


def test_business_errors_are_typed_by_sub_code():
    assert isinstance(
        business_error({"code": "40004", "sub_code": "ACQ.TRADE_NOT_EXIST"}), TradeNotExist
    )
    error = business_error({"code": "40004", "sub_code": "ACQ.TRADE_STATUS_ERROR", "sub_msg": "x"})
    assert isinstance(error, TradeStatusError) and error.sub_msg == "x"
    other = business_error({"code": "40004", "sub_code": "ACQ.SOMETHING_NEW"})
    assert type(other) is AlipayBusinessError and other.sub_code == "ACQ.SOMETHING_NEW"
