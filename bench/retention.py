"""Benchmark: what a withdrawn reminder and a purge batch cost as the tables grow.

Fills a migrated database with N delivered outbox notices and N transcript turns (half of
them older than the retention window), then times, with the index migration 4 added and
without it (dropped for the comparison):

(a) withdrawing a callback's reminder (`DELETE FROM outbox WHERE kind = ? AND delivered_at
    IS NULL`, the statement a cancelled or moved callback commits inside a turn);
(b) one purge batch of the transcript (`bot.storage.retention`, 1,000 rows, the default).

Usage:

    python bench/retention.py [--rows 3000000]

Compare the two columns of one run; the machines this runs on are small and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.storage.callbacks import reminder_kind
from bot.storage.database import Database
from bot.storage.retention import Expiring, delete_sql

WITHDRAW = "DELETE FROM outbox WHERE kind = ? AND delivered_at IS NULL"
BATCH = 1000


def fill(conn: sqlite3.Connection, rows: int) -> str:
    """N delivered notices and N turns, half older than the cutoff; returns the cutoff."""
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    cutoff = (now - timedelta(days=30)).isoformat(timespec="seconds")
    conn.execute("BEGIN")
    for start in range(0, rows, 100_000):
        part = range(start, min(rows, start + 100_000))
        stamps = [(now - timedelta(seconds=(rows - n) * 5_000_000 // rows)) for n in part]
        conn.executemany(
            "INSERT INTO outbox (channel, user_id, kind, text, due_at, created_at, delivered_at)"
            " VALUES ('telegram', ?, 'callback.confirmation', 'Your callback ...', ?, ?, ?)",
            [
                (str(n % 5000), s.isoformat(), s.isoformat(), s.isoformat())
                for n, s in zip(part, stamps, strict=True)
            ],
        )
        conn.executemany(
            "INSERT INTO turns (channel, user_id, at, kind, value, state)"
            " VALUES ('telegram', ?, ?, 'text', '/start', 'automated.menu')",
            [
                (str(n % 5000), s.isoformat(timespec="seconds"))
                for n, s in zip(part, stamps, strict=True)
            ],
        )
    conn.execute("COMMIT")
    return cutoff


def timed(conn: sqlite3.Connection, sql: str, params: tuple[object, ...], runs: int) -> float:
    """Median milliseconds of `sql` in its own transaction, rolled back (nothing changes)."""
    times = []
    for _ in range(runs):
        conn.execute("BEGIN IMMEDIATE")
        t0 = time.perf_counter()
        conn.execute(sql, params)
        times.append(time.perf_counter() - t0)
        conn.execute("ROLLBACK")
    return statistics.median(times) * 1000


async def run(rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tierline-retention-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        await (await Database.open(path)).close()
        conn = sqlite3.connect(path, isolation_level=None)
        t0 = time.perf_counter()
        cutoff = fill(conn, rows)
        print(
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}; {rows:,} notices and turns filled in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        withdraw = (WITHDRAW, (reminder_kind("CB-7K2M9Q"),))
        purge = (delete_sql(Expiring.TURNS), (cutoff, BATCH))
        indexed = [timed(conn, *withdraw, 20), timed(conn, *purge, 5)]
        conn.execute("DROP INDEX outbox_undelivered_by_kind")
        conn.execute("DROP INDEX turns_by_time")
        unindexed = [timed(conn, *withdraw, 5), timed(conn, *purge, 3)]
        conn.close()
    print(f"{'':40}{'with index':>12}{'without':>12}")
    for name, a, b in zip(
        ("(a) withdraw a reminder", f"(b) purge {BATCH} transcript turns"),
        indexed,
        unindexed,
        strict=True,
    ):
        print(f"{name:40}{a:>9.3f} ms{b:>9.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    asyncio.run(run(parser.parse_args().rows))


if __name__ == "__main__":
    main()
