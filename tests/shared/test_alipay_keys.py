"""Keys arrive in every shape the Alipay console and OpenSSL produce; all must load alike."""

import pytest
from cryptography.hazmat.primitives import serialization

from shared.alipay_sign import (
    KeyLoadError,
    extract_response_content,
    generate_key_pair,
    load_private_key,
    load_public_key,
    sign_params,
    signing_string,
    verify_params,
)

PRIVATE_PEM, PUBLIC_PEM = generate_key_pair()
KEY = serialization.load_pem_private_key(PRIVATE_PEM, password=None)


def _body(pem: bytes) -> str:
    return "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))


def _private_shapes(tmp_path):
    pkcs1 = KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    path = tmp_path / "key.pem"
    path.write_bytes(PRIVATE_PEM)
    return {
        "pkcs8 pem": PRIVATE_PEM.decode(),
        "pkcs1 pem": pkcs1.decode(),
        "pkcs8 bare base64": _body(PRIVATE_PEM),
        "pkcs1 bare base64": _body(pkcs1),
        "one-line body between markers": "-----BEGIN PRIVATE KEY-----\n"
        + _body(PRIVATE_PEM)
        + "\n-----END PRIVATE KEY-----",
        "file path": str(path),
    }


def test_every_private_key_shape_signs_the_same(tmp_path):
    params = {"app_id": "1", "method": "m", "sign_type": "RSA2"}
    expected = sign_params(params, KEY)
    for shape, text in _private_shapes(tmp_path).items():
        assert sign_params(params, load_private_key(text)) == expected, shape


def test_public_key_as_pem_or_bare_base64_verifies():
    params = {"a": "1", "b": "2", "sign_type": "RSA2"}
    params["sign"] = sign_params({"a": "1", "b": "2"}, KEY)
    for text in (PUBLIC_PEM.decode(), _body(PUBLIC_PEM)):
        assert verify_params(params, load_public_key(text))


@pytest.mark.parametrize(
    "text", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"]
)
def test_a_broken_key_fails_loudly(text):
    with pytest.raises(KeyLoadError):
        load_private_key(text)
    with pytest.raises(KeyLoadError):
        load_public_key(text)


def test_signing_string_drops_empty_values_and_sorts_by_key():
    params = {"b": "2", "a": "1", "empty": "", "none": None, "sign": "x", "sign_type": "RSA2"}
    assert signing_string(params) == "a=1&b=2&sign_type=RSA2"
    assert signing_string(params, exclude=("sign", "sign_type")) == "a=1&b=2"


def test_a_tampered_notify_does_not_verify():
    params = {"total_amount": "12.00", "out_trade_no": "1", "sign_type": "RSA2"}
    params["sign"] = sign_params({"total_amount": "12.00", "out_trade_no": "1"}, KEY)
    public = load_public_key(PUBLIC_PEM.decode())
    assert verify_params(params, public)
    assert not verify_params({**params, "total_amount": "12.01"}, public)
    assert not verify_params({**params, "sign": "!!not base64!!"}, public)
    assert not verify_params({k: v for k, v in params.items() if k != "sign"}, public)


@pytest.mark.parametrize(
    "body, expected",
    [
        ('{"response_type":{"key1":"name"}}', '{"key1":"name"}'),
        ('{"response_type":{"key1":{"key2": ""}}}', '{"key1":{"key2": ""}}'),
        ('{"response_type":{"key1":{"key2": {"key3": ""}}}}', '{"key1":{"key2": {"key3": ""}}}'),
        ('{"response_type":{"a":"}{\\"","b":1},"sign":"x"}', '{"a":"}{\\"","b":1}'),
        (
            '{"response_type":{"qr_code":"https:\\/\\/qr.alipay.com\\/bax0"},"sign":"x"}',
            '{"qr_code":"https:\\/\\/qr.alipay.com\\/bax0"}',
        ),
        ('{"response_type":{"key1":"na', None),
        ('{"other":{}}', None),
    ],
)
def test_the_signed_part_of_a_response_is_cut_out_verbatim(body, expected):
    assert extract_response_content(body, "response_type") == expected
