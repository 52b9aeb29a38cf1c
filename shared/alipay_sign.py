"""Alipay's signature primitives, shared by the payment service and the gateway emulator.

- the string to sign: every parameter but the excluded ones, empty values dropped, keys sorted
  by byte order, `key=value` joined with `&`, raw (not URL-encoded) values;
- RSA2 = SHA256withRSA, RSA = SHA1withRSA, PKCS#1 v1.5, the signature as one line of base64;
- keys as PEM (PKCS#1 or PKCS#8), the console's bare base64, or a path to a file with either.

Requests are signed over everything but `sign` (sign_type included); notifies and returns are
verified over everything but `sign` and `sign_type` (Alipay's "rsaCheckV1" rule).
"""

import base64
import binascii
import os
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REQUEST_EXCLUDED = ("sign",)
NOTIFY_EXCLUDED = ("sign", "sign_type")
_HASHES = {"RSA2": hashes.SHA256, "RSA": hashes.SHA1}


class KeyLoadError(ValueError):
    """A key that cannot be loaded; raised at start-up, not at the first payment."""


def signing_string(params: Mapping[str, object], exclude: Iterable[str] = REQUEST_EXCLUDED) -> str:
    excluded = set(exclude)
    pairs = sorted(
        (key, str(value))
        for key, value in params.items()
        if key not in excluded and value is not None and value != ""
    )
    return "&".join(f"{key}={value}" for key, value in pairs)


def _hash_for(sign_type: str):
    try:
        return _HASHES[sign_type]()
    except KeyError:
        raise ValueError(f"unsupported sign_type {sign_type!r}; use RSA2 or RSA") from None


def sign_bytes(message: bytes, private_key: rsa.RSAPrivateKey, sign_type: str = "RSA2") -> str:
    signature = private_key.sign(message, padding.PKCS1v15(), _hash_for(sign_type))
    return base64.b64encode(signature).decode("ascii")


def verify_bytes(
    message: bytes, signature_b64: str, public_key: rsa.RSAPublicKey, sign_type: str = "RSA2"
) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message, padding.PKCS1v15(), _hash_for(sign_type))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def sign_params(
    params: Mapping[str, object], private_key, sign_type: str = "RSA2", charset: str = "utf-8"
) -> str:
    return sign_bytes(signing_string(params).encode(charset), private_key, sign_type)


def verify_params(
    params: Mapping[str, str],
    public_key,
    sign_type: str = "RSA2",
    exclude: Iterable[str] = NOTIFY_EXCLUDED,
    charset: str = "utf-8",
) -> bool:
    """Verify a notify or return (by default) or, with exclude=REQUEST_EXCLUDED, a request."""
    given = params.get("sign")
    if not given:
        return False
    try:
        message = signing_string(params, exclude).encode(charset)
    except (UnicodeEncodeError, LookupError):
        return False
    return verify_bytes(message, given, public_key, sign_type)


def _key_text(source: str) -> str:
    source = source.strip()
    if "-----BEGIN" not in source and len(source) < 4096 and os.path.isfile(source):
        with open(source, encoding="ascii") as handle:
            return handle.read().strip()
    return source


def _der_from_text(text: str) -> bytes | None:
    """The DER bytes of a PEM body or a bare base64 key, whitespace and markers removed."""
    lines = [line.strip() for line in text.splitlines()]
    body = "".join(line for line in lines if line and not line.startswith("-----"))
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None


def load_private_key(source: str) -> rsa.RSAPrivateKey:
    text = _key_text(source)
    der = _der_from_text(text)
    try:
        # load_der_private_key reads PKCS#8 and PKCS#1 ("traditional") DER alike.
        key = serialization.load_der_private_key(der, password=None) if der else None
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(f"cannot load the RSA private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyLoadError("the private key is not an RSA key")
    return key


def load_public_key(source: str) -> rsa.RSAPublicKey:
    text = _key_text(source)
    der = _der_from_text(text)
    key = None
    if der:
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, TypeError):
            try:  # a PKCS#1 "RSA PUBLIC KEY" body
                key = serialization.load_pem_public_key(_pem("RSA PUBLIC KEY", der))
            except (ValueError, TypeError) as exc:
                raise KeyLoadError(f"cannot load the RSA public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyLoadError("the public key is missing or not an RSA key")
    return key


def _pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"
    ).encode()


def generate_key_pair(bits: int = 2048) -> tuple[bytes, bytes]:
    """A new RSA key pair as (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def extract_response_content(body: str, node: str) -> str | None:
    """The exact raw text of the JSON object value of `node` in a gateway response.

    Walks the text tracking strings and escapes (as Alipay's Java SDK does), so braces inside
    string values do not end the object early. None when the node or its end is missing.
    """
    marker = f'"{node}"'
    start = body.find(marker)
    if start < 0:
        return None
    start = body.find("{", start + len(marker))
    if start < 0:
        return None
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(body)):
        char = body[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return body[start : index + 1]
    return None
