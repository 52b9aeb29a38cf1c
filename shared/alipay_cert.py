"""Alipay's public-key certificate mode (公钥证书模式): certificate serial numbers ("SN"), keys
taken from certificates, and the certificates the emulator issues to itself.

A certificate's SN, as Alipay's SDKs compute it (Java `AntCertificationUtil.getCertSN`):
lowercase hex MD5 of the issuer's distinguished name as Java renders it
(`X500Principal.getName()`, RFC 2253: most specific attribute first, `CN=…,OU=…,O=…,C=…`)
followed by the serial number in decimal, left-padded to 32 hex digits. The root chain's SN is
the SN of every certificate in the bundle signed with an RSA algorithm (OID prefix
1.2.840.113549.1.1), joined with `_` in file order; the SM2 and ECDSA roots are skipped.

Used by the payment service (`app_cert_sn`, `alipay_root_cert_sn` on each request, Alipay's key
from its certificate, `alipay_cert_sn` of responses checked) and the emulator (which checks
what it receives and answers with `alipay_cert_sn`).
"""

import base64
import binascii
import datetime as dt
import hashlib
import os
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from shared.alipay_sign import KeyLoadError
from shared.time import now_utc

RSA_SIGNATURE_OID_PREFIX = "1.2.840.113549.1.1"
_PEM_CERT = re.compile(
    r"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.DOTALL
)
# The attribute keywords Java's RFC 2253 rendering names; any other attribute is written as
# its dotted OID and `#` + the hex of its DER value.
_RFC2253_KEYWORDS = {
    NameOID.COMMON_NAME: "CN",
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID",
}

# Alipay's file names (as its console names them), written by `make-certs`.
ROOT_CERT_FILE = "alipayRootCert.crt"
ALIPAY_CERT_FILE = "alipayCertPublicKey_RSA2.crt"
ALIPAY_KEY_FILE = "alipay_private_key.pem"
APP_CERT_FILE = "appCertPublicKey.crt"
APP_KEY_FILE = "app_private_key.pem"


def _text(source: str) -> str:
    source = source.strip()
    if "-----BEGIN" not in source and len(source) < 4096 and os.path.isfile(source):
        return Path(source).read_text(encoding="utf-8")
    return source


def load_certificates(source: str, name: str = "certificate") -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (text or a path), in file order.

    Splits on the PEM markers, not on blank lines. A certificate `cryptography` cannot read
    (its DER rules are stricter than Java's: the ECDSA root of Alipay's test bundle carries a
    NULL parameter) is skipped when it is not RSA-signed, which is all the SN computation needs;
    an unreadable RSA-signed one is an error, as is a file with no certificate at all.
    """
    text = _text(source)
    bodies = _PEM_CERT.findall(text)
    if not bodies:
        hint = ""
        if "PUBLIC KEY" in text:
            hint = " (this is a public key, not a public-key certificate: give the .crt file)"
        elif "PRIVATE KEY" in text:
            hint = " (this is a private key, not a certificate)"
        raise KeyLoadError(f"{name}: no PEM certificate found{hint}")
    certificates = []
    for body in bodies:
        pem = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
        try:
            certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
            certificate.signature_algorithm_oid  # noqa: B018 - parse now, not later
        except ValueError as exc:
            oid = _signature_oid(body)
            if oid is None or oid.startswith(RSA_SIGNATURE_OID_PREFIX):
                raise KeyLoadError(f"{name}: cannot read an RSA certificate in it: {exc}") from exc
            continue
        certificates.append(certificate)
    if not certificates:
        raise KeyLoadError(f"{name}: no certificate in it could be read")
    return certificates


def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at `at`."""
    tag, length = der[at], der[at + 1]
    at += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(der[at : at + size], "big")
        at += size
    return tag, at, at + length


def _signature_oid(body: str) -> str | None:
    """The signatureAlgorithm OID of a certificate cryptography refused, read from its DER."""
    try:
        der = base64.b64decode("".join(body.split()))
        _, content, _ = _tlv(der, 0)  # Certificate SEQUENCE
        _, _, tbs_end = _tlv(der, content)  # tbsCertificate
        _, algorithm, _ = _tlv(der, tbs_end)  # signatureAlgorithm SEQUENCE
        tag, start, end = _tlv(der, algorithm)
        if tag != 0x06:
            return None
        return _decode_oid(der[start:end])
    except (IndexError, ValueError, binascii.Error):
        return None


def _decode_oid(raw: bytes) -> str:
    numbers, value = [], 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            numbers.append(value)
            value = 0
    first = min(numbers[0] // 40, 2)
    return ".".join(str(n) for n in [first, numbers[0] - 40 * first, *numbers[1:]])


def load_certificate(source: str, name: str = "certificate") -> x509.Certificate:
    """The first certificate of a file: the leaf, as Alipay's SDKs take it."""
    return load_certificates(source, name)[0]


def _der_value(attribute: x509.NameAttribute) -> bytes:
    value = attribute.value if isinstance(attribute.value, bytes) else attribute.value.encode()
    tag = attribute._type.value  # the ASN.1 string type the certificate used
    length = len(value)
    if length < 0x80:
        header = bytes([tag, length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(size), *size])
    return header + value


def _escape(value: str) -> str:
    """RFC 2253 escaping, as java.security X500Principal.getName() does it."""
    out = []
    for index, char in enumerate(value):
        if char in ',+"\\<>;' or (char == "#" and index == 0):
            out.append("\\" + char)
        elif char == " " and (index == 0 or index == len(value) - 1):
            out.append("\\ ")
        else:
            out.append(char)
    return "".join(out)


def java_name(name: x509.Name) -> str:
    """A distinguished name as Java's `X500Principal.getName()` (RFC 2253) writes it."""
    rdns = []
    for rdn in reversed(name.rdns):
        parts = []
        for attribute in rdn:
            keyword = _RFC2253_KEYWORDS.get(attribute.oid)
            if keyword:
                parts.append(f"{keyword}={_escape(str(attribute.value))}")
            else:
                parts.append(f"{attribute.oid.dotted_string}=#{_der_value(attribute).hex()}")
        rdns.append("+".join(parts))
    return ",".join(rdns)


def cert_sn(certificate: x509.Certificate) -> str:
    """MD5 of the issuer (Java's rendering) + the serial number in decimal: 32 hex digits."""
    text = java_name(certificate.issuer) + str(certificate.serial_number)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def root_cert_sn(certificates: list[x509.Certificate]) -> str:
    """The SNs of the RSA-signed certificates of Alipay's root bundle, joined with `_`."""
    sns = [
        cert_sn(certificate)
        for certificate in certificates
        if certificate.signature_algorithm_oid.dotted_string.startswith(RSA_SIGNATURE_OID_PREFIX)
    ]
    if not sns:
        raise KeyLoadError("the root certificate chain holds no RSA certificate")
    return "_".join(sns)


def rsa_public_key(certificate: x509.Certificate, name: str = "certificate") -> rsa.RSAPublicKey:
    try:
        key = certificate.public_key()
    except ValueError as exc:
        raise KeyLoadError(f"{name}: cannot read its public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyLoadError(f"{name}: its public key is not an RSA key")
    return key


def same_key(a: rsa.RSAPublicKey, b: rsa.RSAPublicKey) -> bool:
    return a.public_numbers() == b.public_numbers()


# -- certificates for the emulator (make-certs) and the tests ------------------------------


def ca_name(common_name: str, unit: str = "Certification Authority", org: str = "Ant Financial"):
    """C, O, OU, CN: rendered CN=…,OU=…,O=…,C=… as Alipay's issuers are."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue(
    subject: x509.Name,
    public_key,
    issuer: x509.Name,
    issuer_key,
    ca: bool,
    days: int = 3650,
    serial: int | None = None,
) -> x509.Certificate:
    now = now_utc()
    algorithm = hashes.SHA256()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, algorithm)


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def private_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def make_certs(directory: str | os.PathLike, app_id: str = "9021000000000001") -> dict[str, Path]:
    """Alipay's files for certificate mode, made up: a root chain (an RSA root and an EC root,
    blank lines between them as in Alipay's file), Alipay's key and certificate, and a fresh
    application key with its certificate, both issued by the RSA root."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    rsa_root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_root_name = ca_name("Ant Financial Certification Authority R1 sandbox")
    rsa_root = issue(rsa_root_name, rsa_root_key.public_key(), rsa_root_name, rsa_root_key, True)
    ec_root_key = ec.generate_private_key(ec.SECP256R1())
    ec_root_name = ca_name("Ant Financial Certification Authority E1 sandbox")
    ec_root = issue(ec_root_name, ec_root_key.public_key(), ec_root_name, ec_root_key, True)
    alipay_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alipay_cert = issue(
        ca_name("支付宝(中国)网络技术有限公司-2088000000000001", "Alipay", "沙箱环境"),
        alipay_key.public_key(),
        rsa_root_name,
        rsa_root_key,
        False,
    )
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app_cert = issue(
        ca_name(f"2088000000000001-{app_id}", "Alipay", "沙箱环境"),
        app_key.public_key(),
        rsa_root_name,
        rsa_root_key,
        False,
    )
    files = {
        ROOT_CERT_FILE: pem(rsa_root) + "\n" + pem(ec_root),
        ALIPAY_CERT_FILE: pem(alipay_cert),
        ALIPAY_KEY_FILE: private_pem(alipay_key),
        APP_CERT_FILE: pem(app_cert),
        APP_KEY_FILE: private_pem(app_key),
    }
    written = {}
    for file_name, text in files.items():
        path = folder / file_name
        path.write_text(text, encoding="ascii" if text.isascii() else "utf-8")
        if file_name.endswith("private_key.pem"):
            path.chmod(0o600)
        written[file_name] = path
    return written


class CertMode:
    """The merchant's side of certificate mode, loaded once from the three files."""

    def __init__(self, app_cert: str, alipay_cert: str, root_cert: str):
        app = load_certificate(app_cert, "ALIPAY_APP_CERT")
        alipay = load_certificate(alipay_cert, "ALIPAY_PUBLIC_CERT")
        roots = load_certificates(root_cert, "ALIPAY_ROOT_CERT")
        self.app_public_key = rsa_public_key(app, "ALIPAY_APP_CERT")
        self.alipay_public_key = rsa_public_key(alipay, "ALIPAY_PUBLIC_CERT")
        self.app_cert_sn = cert_sn(app)
        self.alipay_cert_sn = cert_sn(alipay)
        self.alipay_root_cert_sn = root_cert_sn(roots)
