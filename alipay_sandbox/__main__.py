"""`python -m alipay_sandbox make-certs DIR`: Alipay's certificate-mode files, made up."""

import argparse
import sys

from shared.alipay_cert import make_certs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alipay_sandbox")
    commands = parser.add_subparsers(dest="command", required=True)
    certs = commands.add_parser(
        "make-certs",
        help="write alipayRootCert.crt, alipayCertPublicKey_RSA2.crt, alipay_private_key.pem, "
        "appCertPublicKey.crt and app_private_key.pem to DIR",
    )
    certs.add_argument("directory", metavar="DIR")
    certs.add_argument("--app-id", default="9021000000000001")
    args = parser.parse_args(argv)
    written = make_certs(args.directory, app_id=args.app_id)
    for path in written.values():
        print(f"wrote {path}")
    print(
        f"emulator: SANDBOX_CERT_DIR={args.directory}; payment service: "
        f"ALIPAY_APP_PRIVATE_KEY={written['app_private_key.pem']} "
        f"ALIPAY_APP_CERT={written['appCertPublicKey.crt']} "
        f"ALIPAY_PUBLIC_CERT={written['alipayCertPublicKey_RSA2.crt']} "
        f"ALIPAY_ROOT_CERT={written['alipayRootCert.crt']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
