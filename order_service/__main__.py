"""`python -m order_service migrate` and `python -m order_service load-catalog FILE.json`."""

import argparse
import asyncio
import json
import sys

from pydantic import TypeAdapter, ValidationError

from order_service.services.catalog import CatalogEntry, load_catalog
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


async def load_catalog_file(path: str, database_url: str | None = None) -> dict[str, int]:
    entries = read_catalog(path)
    async with one_shot_sessions(database_url or OrderSettings().database_url) as sessions:
        return await load_catalog(sessions, entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m order_service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the order database to the latest schema")
    loader = commands.add_parser("load-catalog", help="create or update SKUs from a JSON array")
    loader.add_argument("file")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        migrate()
        print("order database migrated to head")
        return 0
    try:
        counts = asyncio.run(load_catalog_file(args.file))
    except (OSError, ValueError, ValidationError) as exc:
        print(f"load-catalog: {exc}", file=sys.stderr)
        return 1
    print(f"catalog loaded: {counts['created']} created, {counts['updated']} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
