"""Test keys: fzlee's published test key (for the fixed vectors) and fresh pairs made per run."""

import functools
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from shared.alipay_sign import generate_key_pair, load_private_key

DATA = Path(__file__).parent / "data"
FZLEE_PRIVATE_PEM = (DATA / "fzlee_app_private_key.pem").read_text()
VECTORS = json.loads((DATA / "vectors.json").read_text(encoding="utf-8"))


def public_pem_of(private_pem: str) -> str:
    key = load_private_key(private_pem)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@functools.cache
def pair(name: str) -> tuple[str, str]:
    """(private PEM, public PEM), one per name per test run ("app", "alipay", ...)."""
    private_pem, public_pem = generate_key_pair()
    return private_pem.decode(), public_pem.decode()
