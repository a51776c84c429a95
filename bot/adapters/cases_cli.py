"""Case data for the automated tier: `tierline cases import FILE.csv` and `cases list`.

The CSV needs a header; columns in any order: receipt_number, form_type, status_title,
status_date (YYYY-MM-DD) required; zip_code, biometrics_at, biometrics_site,
biometrics_reschedules optional. Every row is checked before anything is written: a file
with a bad row changes nothing, and each bad row is reported by line number. A good file is
then saved in chunks, so the bot keeps answering while a large file is imported; if the
import is stopped part-way, running it again finishes it (rows are updated in place).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

MAX_REPORTED_ERRORS = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.runtime import add_common_options

    sub = parser.add_subparsers(dest="cases_command", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import", help="import or update cases from a CSV file", description=__doc__
    )
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.add_argument(
        "--chunk-rows",
        type=_chunk_rows,
        default=2000,
        metavar="N",
        help="rows saved per commit (default: 2000); the bot's turns get the database "
        "between chunks",
    )
    add_common_options(imp, clock=False)
    lst = sub.add_parser("list", help="show the cases on file")
    lst.add_argument("--json", action="store_true", help="one JSON array on stdout")
    lst.add_argument(
        "--limit", type=int, default=0, metavar="N", help="show at most N cases (default: all)"
    )
    add_common_options(lst, clock=False)
    plan = sub.add_parser(
        "watch-plan",
        help="how the watch list spends the USCIS daily quota",
        description="The watched cases, polls per case per day and the quota they use "
        "(settings: [uscis] daily_quota, watch_share, watch_max_polls_per_day).",
    )
    plan.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_common_options(plan, clock=False)


def _chunk_rows(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 50_000:
        raise argparse.ArgumentTypeError(f"not a number of rows from 1 to 50000: {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from bot.runtime import settings_from

    settings = settings_from(args)
    if args.cases_command == "import":
        return _import(args.file, settings, args.chunk_rows)
    if args.cases_command == "watch-plan":
        return asyncio.run(_watch_plan(settings, as_json=args.json))
    return asyncio.run(_list(settings, as_json=args.json, limit=args.limit))


def _import(path: Path, settings: object, chunk_rows: int) -> int:
    from bot.cases.importer import ImportStopped

    bar = ProgressBar(sys.stderr)
    try:
        return asyncio.run(_import_async(path, settings, chunk_rows, bar))
    except ImportStopped as exc:
        bar.done()
        print(
            f"tierline: error: the import of {path} stopped: {exc.reason}. {exc.saved} of "
            f"{exc.total} row(s) were saved, the rest were not; run the same import again to "
            "finish (rows already saved are updated in place)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        bar.done()
        print(
            f"tierline: interrupted: the import of {path} may be partly saved; run it again "
            "to finish (rows already saved are updated in place)",
            file=sys.stderr,
        )
        return 130


async def _import_async(path: Path, settings: object, chunk_rows: int, bar: ProgressBar) -> int:
    from datetime import datetime

    from bot.cases.importer import CaseFileError, import_case_file
    from bot.config import Settings
    from bot.storage.database import Database
    from bot.storage.ports import sqlite_ports

    assert isinstance(settings, Settings)
    db = await Database.open(settings.db_path)
    try:
        result = await import_case_file(
            db,
            sqlite_ports(db, settings.tz).cases,
            path,
            settings.tz,
            datetime.now(settings.tz),
            chunk_rows=chunk_rows,
            checking=bar.update("checking"),
            saving=bar.update("saving"),
        )
    except CaseFileError as exc:
        bar.done()
        print(f"tierline: error: {exc}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    bar.done()
    scan = result.scan
    for warning in scan.warnings:
        print(f"tierline: warning: {path}: {warning}", file=sys.stderr)
    if not scan.ok:
        for line, reason in scan.errors[:MAX_REPORTED_ERRORS]:
            print(f"{path}:{line}: {reason}", file=sys.stderr)
        more = scan.error_count - min(len(scan.errors), MAX_REPORTED_ERRORS)
        if more > 0:
            print(f"... and {more} more bad row(s)", file=sys.stderr)
        print(
            f"tierline: error: {scan.error_count} bad row(s) in {path}; nothing was imported",
            file=sys.stderr,
        )
        return 1
    print(f"imported {result.saved} case(s) from {path} into {settings.db_path}")
    return 0


async def _watch_plan(settings: object, *, as_json: bool) -> int:
    from datetime import datetime

    from bot.config import Settings
    from bot.storage.database import Database
    from bot.storage.ports import sqlite_ports
    from flows.case_live import watch_plan

    assert isinstance(settings, Settings)
    uscis = settings.uscis
    db = await Database.open(settings.db_path)
    try:
        ports = sqlite_ports(db, settings.tz)
        watched = await ports.watches.watched()
        tz = ZoneInfo(uscis.quota_timezone)
        now = datetime.now(tz)
        day = (
            now - timedelta(hours=uscis.quota_resets_at.hour, minutes=uscis.quota_resets_at.minute)
        ).date()
        used = await ports.live_cases.used(day.isoformat())
    finally:
        await db.close()
    plan = watch_plan(
        len(watched), uscis.daily_quota, uscis.watch_share, uscis.watch_max_polls_per_day
    )
    hours = plan.interval.total_seconds() / 3600 if plan.interval else None
    if as_json:
        print(
            json.dumps(
                {
                    "case_source": settings.case_source,
                    "watched_cases": plan.cases,
                    "daily_quota": plan.daily_quota,
                    "watch_budget": plan.watch_budget,
                    "polls_per_case_per_day": plan.polls_per_case,
                    "polls_per_day": plan.polls_a_day,
                    "hours_between_polls": hours,
                    "quota_used_today": used,
                    "quota_day": day.isoformat(),
                }
            )
        )
        return 0
    print(f"case source: {settings.case_source}")
    print(f"watched cases: {plan.cases}")
    print(
        f"daily quota: {plan.daily_quota} calls (resets at "
        f"{uscis.quota_resets_at.strftime('%H:%M')} {uscis.quota_timezone}); "
        f"used today: {used}"
    )
    print(f"the watch list may use: {plan.watch_budget} a day (watch_share {uscis.watch_share})")
    if plan.cases == 0:
        print("polls per case per day: - (nothing watched)")
    elif plan.polls_per_case == 0:
        print("polls per case per day: 0 (too many cases for the quota: none is polled)")
    else:
        print(
            f"polls per case per day: {plan.polls_per_case} (every {hours:g} hours), "
            f"{plan.polls_a_day} calls a day in all"
        )
    return 0


async def _list(settings: object, *, as_json: bool, limit: int) -> int:
    from bot.config import Settings
    from bot.storage.database import Database
    from bot.storage.ports import sqlite_ports

    assert isinstance(settings, Settings)
    db = await Database.open(settings.db_path)
    try:
        records = await sqlite_ports(db, settings.tz).cases.listing(limit if limit > 0 else None)
    finally:
        await db.close()
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "receipt_number": r.receipt_number,
                        "form_type": r.form_type,
                        "status_title": r.status_title,
                        "status_date": r.status_date.isoformat(),
                        "zip_code": r.zip_code,
                        "biometrics_at": r.biometrics_at.isoformat() if r.biometrics_at else None,
                        "biometrics_site": r.biometrics_site,
                        "biometrics_reschedules": r.biometrics_reschedules,
                    }
                    for r in records
                ],
                indent=2,
            )
        )
        return 0
    if not records:
        print("no cases on file (import some with: tierline cases import FILE.csv)")
        return 0
    print(f"{'RECEIPT':<13}  {'FORM':<7}  {'DATE':<10}  {'BIOMETRICS':<22}  STATUS")
    for r in records:
        bio = ""
        if r.biometrics_at:
            bio = f"{r.biometrics_at:%Y-%m-%d %H:%M} x{r.biometrics_reschedules}"
        print(
            f"{r.receipt_number:<13}  {r.form_type:<7}  {r.status_date.isoformat():<10}  "
            f"{bio:<22}  {r.status_title}"
        )
    print(f"{len(records)} case(s)")
    return 0


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = stream.isatty()
        self.drawn = False

    def update(self, label: str) -> Callable[[int, int], None]:
        def draw(done: int, total: int) -> None:
            if not self.active or total <= 0:
                return
            filled = self.WIDTH * min(done, total) // total
            self.stream.write(
                f"\r{label:<9}[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}"
            )
            self.stream.flush()
            self.drawn = True

        return draw

    def done(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
