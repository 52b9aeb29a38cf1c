"""Certificate serial numbers as Alipay computes them: against the Java SDK's algorithm (as a
vector), python-alipay-sdk's certificate client (DCAliPay), and certificates made here."""

import hashlib
import json
from pathlib import Path

import pytest
from alipay import DCAliPay
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from shared.alipay_cert import (
    _PEM_CERT,
    ALIPAY_CERT_FILE,
    APP_CERT_FILE,
    APP_KEY_FILE,
    ROOT_CERT_FILE,
    CertMode,
    _signature_oid,
    ca_name,
    cert_sn,
    issue,
    java_name,
    load_certificate,
    load_certificates,
    make_certs,
    pem,
    root_cert_sn,
)
from shared.alipay_sign import KeyLoadError, load_private_key

DATA = Path(__file__).parent / "data" / "alipay_certs"
VECTORS = json.loads((DATA / "sn_vectors.json").read_text())


def java_get_cert_sn(issuer_name: str, serial: str) -> str:
    """AntCertificationUtil.getCertSN, line for line: BigInteger(1, md5).toString(16), fillMD5."""
    digest = hashlib.md5((issuer_name + serial).encode()).digest()
    text = format(int.from_bytes(digest, "big"), "x")  # drops leading zeros, as BigInteger does
    while len(text) != 32:
        text = "0" + text
    return text


@pytest.mark.parametrize("vector", VECTORS["java_getCertSN"])
def test_java_vector(vector):
    assert java_get_cert_sn(vector["issuer_getName"], vector["serial_decimal"]) == vector["sn"]
    certificate = load_certificate(str(DATA / vector["file"]))
    assert java_name(certificate.issuer) == vector["issuer_getName"]
    assert str(certificate.serial_number) == vector["serial_decimal"]
    assert cert_sn(certificate) == vector["sn"]


@pytest.mark.parametrize("file_name", sorted(VECTORS["files"]))
def test_file_sns_match_the_vectors_and_python_alipay_sdk(file_name):
    text = (DATA / file_name).read_text()
    assert cert_sn(load_certificate(text)) == VECTORS["files"][file_name]
    assert DCAliPay.get_cert_sn(text) == VECTORS["files"][file_name]


def test_root_chain_sn_keeps_only_rsa_certificates():
    text = (DATA / VECTORS["root"]["file"]).read_text()
    oids = [_signature_oid(body) for body in _PEM_CERT.findall(text)]
    assert oids == VECTORS["root"]["signature_oids"]
    expected = VECTORS["root"]["alipay_root_cert_sn"]
    assert root_cert_sn(load_certificates(text)) == expected
    assert DCAliPay.get_root_cert_sn(text) == expected
    # Without blank lines between the certificates (python-alipay-sdk would fail): same answer.
    assert root_cert_sn(load_certificates(text.replace("\n\n", "\n"))) == expected


def test_sn_keeps_leading_zeros_as_the_java_sdk_pads_them():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = ca_name("Zero Padding CA")
    serial = next(
        s for s in range(1, 100000) if java_get_cert_sn(java_name(name), str(s)).startswith("0")
    )
    certificate = issue(name, key.public_key(), name, key, True, serial=serial)
    sn = cert_sn(certificate)
    assert sn.startswith("0") and len(sn) == 32
    assert sn == java_get_cert_sn(java_name(name), str(serial))
    assert sn == DCAliPay.get_cert_sn(pem(certificate))


def test_java_name_escapes_and_unknown_attributes():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Shop, Inc. +1"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ca@example.com"),
            x509.NameAttribute(NameOID.COMMON_NAME, " #lead"),
        ]
    )
    certificate = issue(name, key.public_key(), name, key, True)
    # Java (RFC 2253): reversed order, `,+` escaped, a leading space escaped (`#` only when
    # first), and the e-mail attribute (no RFC 2253 keyword) as its OID and its DER in hex.
    assert java_name(certificate.issuer) == (
        "CN=\\ #lead,1.2.840.113549.1.9.1=#160e6361406578616d706c652e636f6d,"
        "O=Shop\\, Inc. \\+1,C=CN"
    )


def test_make_certs_gives_a_working_cert_mode(tmp_path):
    files = make_certs(tmp_path)
    mode = CertMode(
        str(files[APP_CERT_FILE]), str(files[ALIPAY_CERT_FILE]), str(files[ROOT_CERT_FILE])
    )
    root_text = files[ROOT_CERT_FILE].read_text()
    roots = load_certificates(root_text)
    assert isinstance(roots[0].public_key(), rsa.RSAPublicKey)
    assert isinstance(roots[1].public_key(), ec.EllipticCurvePublicKey)
    assert "\n\n-----BEGIN" in root_text  # Alipay's file: blank lines between certificates
    assert mode.alipay_root_cert_sn == DCAliPay.get_root_cert_sn(root_text)
    assert "_" not in mode.alipay_root_cert_sn  # the EC root does not count
    assert mode.app_cert_sn == DCAliPay.get_cert_sn(files[APP_CERT_FILE].read_text())
    app_key = load_private_key(str(files[APP_KEY_FILE]))
    assert app_key.public_key().public_numbers() == mode.app_public_key.public_numbers()


def test_a_public_key_given_for_a_certificate_is_named():
    with pytest.raises(KeyLoadError, match="public key, not a public-key certificate"):
        load_certificate("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", "X")
