"""Copy a whole database into another: `tierline copy --from tierline.db --to postgresql://…`.

Moves a deployment from its SQLite file to PostgreSQL (or back) without losing a
conversation, a booking or a notice not yet delivered: every table is copied with its rows'
ids, into a target that must be empty (it is migrated first), and the row counts of both
are compared at the end. Stop the bot first: the source must not change while it is read.
Either side is a SQLite file or a `postgresql://` URL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.config import database_location

    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        type=database_location,
        metavar="PATH|URL",
        help="the database to copy (it is not changed, but migrated if it is older)",
    )
    parser.add_argument(
        "--to",
        dest="target",
        required=True,
        type=database_location,
        metavar="PATH|URL",
        help="the empty database to copy into (created and migrated when missing)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def run(args: argparse.Namespace) -> int:
    if isinstance(args.source, Path) and not args.source.is_file():
        print(f"tierline: error: no database at {args.source}", file=sys.stderr)
        return 2
    if str(args.source) == str(args.target):
        print("tierline: error: --from and --to are the same database", file=sys.stderr)
        return 2
    return asyncio.run(_copy(args))


async def _copy(args: argparse.Namespace) -> int:
    from bot.storage.copy import copy_database
    from bot.storage.database import Database, redact

    def progress(table: str, rows: int) -> None:
        if not args.quiet:
            print(f"{table}: {rows} row(s)")

    source = await Database.open(args.source)
    try:
        target = await Database.open(args.target)
        try:
            copied = await copy_database(source, target, progress=progress)
        finally:
            await target.close()
    finally:
        await source.close()
    if not args.quiet:
        total = sum(c.rows for c in copied)
        print(
            f"copied {total} row(s) in {len(copied)} table(s) from {redact(str(args.source))}"
            f" to {redact(str(args.target))}"
        )
    return 0
