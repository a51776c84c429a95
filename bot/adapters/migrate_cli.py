"""Bring a database's schema to this version of Tierline: `tierline migrate`.

Every command migrates the database it opens; this one does only that and says where the
schema stands, for a deployment that migrates once before it starts its processes (several
replicas on one PostgreSQL database). `--db` (or `TIERLINE_DB`) is a SQLite file or a
`postgresql://` URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.runtime import add_common_options

    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_common_options(parser, clock=False)


def run(args: argparse.Namespace) -> int:
    from bot.runtime import settings_from

    settings = settings_from(args)
    return asyncio.run(_migrate(settings, args))


async def _migrate(settings: Any, args: argparse.Namespace) -> int:
    from bot.storage.database import Database
    from bot.storage.migrations import latest_version

    db = await Database.open(settings.db_path)
    try:
        version = await db.schema_version()
        backend = db.backend
    finally:
        await db.close()
    where = _shown(settings.db_path)
    if args.json:
        print(json.dumps({"database": where, "backend": backend, "schema_version": version}))
    else:
        print(f"{where} ({backend}): schema version {version} (latest {latest_version()})")
    return 0


def _shown(location: object) -> str:
    from bot.storage.database import redact

    return redact(str(location))
