"""Case data for the automated tier: `tierline cases import FILE.csv` and `cases list`.

The CSV needs a header; columns in any order: receipt_number, form_type, status_title,
status_date (YYYY-MM-DD) required; zip_code, biometrics_at, biometrics_site,
biometrics_reschedules optional. Every row is checked before anything is written: a file
with a bad row changes nothing, and each bad row is reported by line number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

MAX_REPORTED_ERRORS = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.runtime import add_common_options

    sub = parser.add_subparsers(dest="cases_command", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import", help="import or update cases from a CSV file", description=__doc__
    )
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    add_common_options(imp, clock=False)
    lst = sub.add_parser("list", help="show the cases on file")
    lst.add_argument("--json", action="store_true", help="one JSON array on stdout")
    lst.add_argument(
        "--limit", type=int, default=0, metavar="N", help="show at most N cases (default: all)"
    )
    add_common_options(lst, clock=False)


def run(args: argparse.Namespace) -> int:
    from bot.runtime import settings_from

    settings = settings_from(args)
    if args.cases_command == "import":
        return _import(args.file, settings)
    return asyncio.run(_list(settings, as_json=args.json, limit=args.limit))


def _import(path: Path, settings: object) -> int:
    from datetime import datetime

    from bot.cases.importer import CaseFileError, read_case_file, write_cases
    from bot.config import Settings
    from bot.storage.database import Database

    assert isinstance(settings, Settings)
    bar = ProgressBar(sys.stderr)
    try:
        case_file = read_case_file(path, settings.tz, bar.update("checking"))
    except CaseFileError as exc:
        bar.done()
        print(f"tierline: error: {exc}", file=sys.stderr)
        return 2
    bar.done()
    for warning in case_file.warnings:
        print(f"tierline: warning: {path}: {warning}", file=sys.stderr)
    if not case_file.ok:
        for line, reason in case_file.errors[:MAX_REPORTED_ERRORS]:
            print(f"{path}:{line}: {reason}", file=sys.stderr)
        more = len(case_file.errors) - MAX_REPORTED_ERRORS
        if more > 0:
            print(f"... and {more} more bad row(s)", file=sys.stderr)
        print(
            f"tierline: error: {len(case_file.errors)} bad row(s) in {path}; nothing was imported",
            file=sys.stderr,
        )
        return 1

    async def migrate() -> None:  # the bulk write needs the schema in place
        await (await Database.open(settings.db_path)).close()

    asyncio.run(migrate())
    count = write_cases(
        settings.db_path, case_file.records, datetime.now(settings.tz), bar.update("saving")
    )
    bar.done()
    print(f"imported {count} case(s) from {path} into {settings.db_path}")
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
