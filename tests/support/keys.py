"""RSA key pairs written to files, as a deployment holds them (settings name the paths)."""

from dataclasses import dataclass
from pathlib import Path

from shared.alipay_sign import generate_key_pair


@dataclass(frozen=True)
class KeyPairFiles:
    private_path: Path
    public_path: Path
    private_pem: str
    public_pem: str


def write_key_pair(folder: Path, owner: str) -> KeyPairFiles:
    """A fresh pair as `<owner>_private_key.pem` and `<owner>_public_key.pem` in `folder`."""
    private_pem, public_pem = generate_key_pair()
    private_path = folder / f"{owner}_private_key.pem"
    public_path = folder / f"{owner}_public_key.pem"
    private_path.write_bytes(private_pem)
    public_path.write_bytes(public_pem)
    return KeyPairFiles(private_path, public_path, private_pem.decode(), public_pem.decode())
