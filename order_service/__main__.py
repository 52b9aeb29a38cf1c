"""`python -m order_service migrate` | `load-catalog FILE.json [--set-stock]` |
`create-admin USERNAME`."""

import argparse
import asyncio
import getpass
import json
import os
import sys
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from order_service.api.schemas import RegisterBody
from order_service.services.catalog import CatalogEntry, load_catalog, place_images
from order_service.services.users import create_admin
from order_service.settings import OrderSettings
from shared.db import one_shot_sessions
from shared.migrations import upgrade_to_head


def migrate(database_url: str | None = None) -> None:
    """Upgrade the order database to head (runs its own event loop: call it from a thread)."""
    upgrade_to_head("order", database_url)


def read_catalog(path: str) -> list[CatalogEntry]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return TypeAdapter(list[CatalogEntry]).validate_python(data)


async def load_catalog_file(
    path: str,
    database_url: str | None = None,
    set_stock: bool = False,
    media_dir: Path | None = None,
) -> dict[str, int]:
    """Images given as files beside the catalog are copied into the media folder first."""
    entries = read_catalog(path)
    if database_url is None or media_dir is None:
        settings = OrderSettings()
        database_url = database_url or settings.database_url
        media_dir = media_dir or settings.media_dir
    entries = place_images(entries, Path(path).parent, media_dir)
    async with one_shot_sessions(database_url) as sessions:
        return await load_catalog(sessions, entries, set_stock)


def _admin_password() -> str | None:
    password = os.environ.get("ORDER_ADMIN_PASSWORD")
    if password:
        return password
    if sys.stdin.isatty():
        return getpass.getpass("password for the new admin: ")
    return sys.stdin.readline().rstrip("\r\n") or None


def _username(text: str) -> str:
    try:
        return RegisterBody(username=text, password="x" * 8).username
    except ValidationError:
        raise argparse.ArgumentTypeError(f"not a valid username: {text!r}") from None


async def make_admin(username: str, database_url: str | None = None) -> str:
    async with one_shot_sessions(database_url or OrderSettings().database_url) as sessions:
        return await create_admin(sessions, username, _admin_password)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m order_service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the order database to the latest schema")
    loader = commands.add_parser("load-catalog", help="create or update SKUs from a JSON array")
    loader.add_argument("file")
    loader.add_argument(
        "--set-stock",
        action="store_true",
        help="also overwrite the live stock of SKUs that exist (by default it is kept)",
    )
    admin = commands.add_parser("create-admin", help="make a merchant admin, or promote a user")
    admin.add_argument("username", type=_username)
    args = parser.parse_args(argv)
    if args.command == "migrate":
        migrate()
        print("order database migrated to head")
        return 0
    if args.command == "create-admin":
        try:
            outcome = asyncio.run(make_admin(args.username))
        except ValueError as exc:
            print(f"create-admin: {exc}", file=sys.stderr)
            return 1
        print(f"admin {args.username} {outcome}")
        return 0
    try:
        counts = asyncio.run(load_catalog_file(args.file, set_stock=args.set_stock))
    except (OSError, ValueError, ValidationError) as exc:
        print(f"load-catalog: {exc}", file=sys.stderr)
        return 1
    print(f"catalog loaded: {counts['created']} created, {counts['updated']} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
