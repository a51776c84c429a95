"""Start-up shared by every command: settings, logging, the database, the clock, the engine.

Operator-facing failures (a bad config file, a database that cannot be opened) are raised
as `ConfigError` / `StorageError`; the CLI prints them as one clear line.
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from bot.assembly import create_engine
from bot.clock import Clock, FixedClock, SystemClock
from bot.config import Settings, database_location, load_settings
from bot.engine.engine import Engine
from bot.logs import setup_logging
from bot.storage.database import Database


def add_common_options(parser: argparse.ArgumentParser, *, clock: bool = True) -> None:
    """The options every command that opens the database shares."""
    parser.add_argument(
        "--db",
        type=database_location,
        metavar="PATH|URL",
        help="SQLite database file or postgresql:// URL (default: db_path from settings)",
    )
    if clock:
        parser.add_argument(
            "--now",
            type=parse_now,
            metavar="ISO-DATETIME",
            help="a fixed clock, e.g. 2026-11-23T10:00 (local time zone unless an offset is given)",
        )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level on stderr (default: log_level from settings)",
    )


def parse_now(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date-time: {text!r} (example: 2026-11-23T10:00)"
        ) from None


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    settings = load_settings(
        db_path=getattr(args, "db", None),
        log_level=getattr(args, "log_level", None),
        **extra,
    )
    setup_logging(
        settings.log_level,
        repeats=settings.limits.log_repeats,
        window=settings.limits.log_window_seconds,
    )
    return settings


def clock_from(args: argparse.Namespace, settings: Settings) -> Clock:
    now = getattr(args, "now", None)
    return FixedClock(now, settings.tz) if now is not None else SystemClock(settings.tz)


@asynccontextmanager
async def open_engine(
    settings: Settings, clock: Clock, *, pull_notices: frozenset[str] = frozenset({"console"})
) -> AsyncIterator[Engine]:
    db = await Database.open(settings.db_path)
    try:
        engine = await create_engine(settings, db, clock, pull_notices=pull_notices)
        freeze_start_up()
        yield engine
    finally:
        await db.close()


_frozen = False


def freeze_start_up() -> None:
    """Once per process, when the first engine is built: what start-up made (modules,
    models, the catalogue, the machine) lives as long as the process, so it is moved out
    of the collector's sight. Without it the first collections after start-up scan all of
    it: a ~25 ms pause before a console's first answer (docs/performance.md)."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


# Garbage collection for a long-running server (docs/performance.md, issue 17): what start-up
# built (modules, models, the catalogue, the machine) lives as long as the process, so it is
# moved out of the collector's sight once, and the youngest generation is collected less
# often, so that full collections stop scanning the whole start-up heap on the turn path.
GC_THRESHOLDS = (10_000, 20, 100)


def settle_for_serving() -> None:
    """Call once, after start-up, in a process that serves until it is stopped."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
