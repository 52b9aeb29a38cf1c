"""`python -m payment_service migrate` | `keygen DIR` | `retry-refund ORDER_ID` |
`reconcile-bill YYYY-MM-DD`."""

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from payment_service.services.refunds import retry_refused_refund
from payment_service.settings import PaymentSettings
from shared.alipay_sign import generate_key_pair
from shared.db import one_shot_sessions
from shared.migrations import upgrade_to_head


def migrate(database_url: str | None = None) -> None:
    """Upgrade the payment database to head (runs its own event loop: call it from a thread)."""
    upgrade_to_head("payment", database_url)


def keygen(directory: str) -> None:
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    private_pem, public_pem = generate_key_pair()
    private_path = target / "app_private_key.pem"
    private_path.write_bytes(private_pem)
    private_path.chmod(0o600)
    (target / "app_public_key.pem").write_bytes(public_pem)
    print(f"wrote {private_path} and {target / 'app_public_key.pem'}")


async def retry_refund(order_id: str) -> bool:
    async with one_shot_sessions(PaymentSettings().database_url) as sessions:
        return await retry_refused_refund(sessions, order_id)


async def reconcile_bill_command(day) -> int:
    import structlog

    from payment_service.main import alipay_client
    from payment_service.services.bill import BillRuntime, json_lines, reconcile_bill

    # stdout carries the mismatches as JSON lines only; logs go to stderr
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    settings = PaymentSettings()
    client = alipay_client(settings)
    try:
        async with one_shot_sessions(settings.database_url) as sessions:
            found = await reconcile_bill(BillRuntime(alipay=client, sessions=sessions), day)
    finally:
        await client.aclose()
    sys.stdout.write(json_lines(day, found))
    print(f"bill of {day}: {len(found)} mismatch(es)", file=sys.stderr)
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payment_service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="migrate the payment database to head")
    keygen_parser = commands.add_parser("keygen", help="write an RSA-2048 key pair to DIR")
    keygen_parser.add_argument("directory", metavar="DIR")
    retry_parser = commands.add_parser(
        "retry-refund", help="ask Alipay again for a refund it refused (status failed)"
    )
    retry_parser.add_argument("order_id", metavar="ORDER_ID")
    bill_parser = commands.add_parser(
        "reconcile-bill",
        help="compare Alipay's trade bill of a day with the payment records; exit 1 on mismatches",
    )
    bill_parser.add_argument("day", metavar="YYYY-MM-DD", type=date.fromisoformat)
    args = parser.parse_args(argv)
    if args.command == "reconcile-bill":
        return asyncio.run(reconcile_bill_command(args.day))
    if args.command == "migrate":
        migrate()
        print("payment database migrated to head")
    elif args.command == "keygen":
        keygen(args.directory)
    elif asyncio.run(retry_refund(args.order_id)):
        print(f"refund of order {args.order_id} queued again; the relay asks Alipay shortly")
    else:
        print(f"order {args.order_id} has no failed refund", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
