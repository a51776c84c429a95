"""Delete personal data older than the retention policy allows: `tierline purge`.

What goes, and after how long, is the [retention] section of config/settings.toml (or
TIERLINE_RETENTION__* variables): the transcript (transcript_days, 30 by default), the
transition log (transition_days, 30), delivered notices (delivered_notice_days, 7) and
conversations nobody wrote in for idle_conversation_days (30). Undelivered notices,
callbacks, appointment requests and the staff log are never deleted. A running bot does the
same by itself every purge_every_minutes; this command is for operators (a cron job, before
a backup, after lowering a limit). Rows are deleted in small batches, so a running bot on
the same database keeps answering. --dry-run counts what would go and changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

# What each kind is, for people (the JSON output uses the kind's name).
LABELS = {
    "turns": "transcript turns",
    "transitions": "transition log rows",
    "delivered_notices": "delivered notices",
    "idle_conversations": "idle conversations",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.runtime import add_common_options

    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="count what would be deleted, change nothing",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_common_options(parser)


def run(args: argparse.Namespace) -> int:
    from bot.runtime import clock_from, settings_from

    settings = settings_from(args)
    if isinstance(settings.db_path, Path) and not settings.db_path.is_file():
        print(f"tierline: error: no database at {settings.db_path}", file=sys.stderr)
        return 2
    return asyncio.run(_purge(settings, clock_from(args, settings).now(), args))


async def _purge(settings: Any, now: Any, args: argparse.Namespace) -> int:
    from bot.retention import cutoffs, expired, purge
    from bot.storage.database import Database
    from bot.storage.ports import sqlite_ports

    policy = settings.retention
    db = await Database.open(settings.db_path)
    try:
        retention = sqlite_ports(db, settings.tz).retention
        if args.dry_run:
            counts = await expired(retention, policy, now)
        else:
            counts = await purge(db, retention, policy, now)
    finally:
        await db.close()
    limits = cutoffs(policy, now)
    if args.json:
        print(
            json.dumps(
                {
                    "dry_run": args.dry_run,
                    "now": now.isoformat(),
                    "counts": {kind.value: n for kind, n in counts.items()},
                    "before": {kind.value: at.isoformat() for kind, at in limits.items()},
                }
            )
        )
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    if not limits:
        print("the retention policy keeps everything (every limit is 0 days); nothing to do")
        return 0
    for kind, n in counts.items():
        print(f"{verb} {n:>9} {LABELS[kind.value]:<20} (older than {limits[kind]:%Y-%m-%d %H:%M})")
    kept = sorted(set(LABELS) - {k.value for k in limits})
    for name in kept:
        print(f"kept forever:       {LABELS[name]} (the limit is 0 days)")
    return 0
