"""Benchmark: the engine's durable turns on PostgreSQL against SQLite, one process each,
the same mix of turns (bench/turns.py) and the same number of concurrent conversations,
measured in the same run, rounds alternating.

PostgreSQL is a throwaway server started here (Debian's PostgreSQL 15, as the tests start
it), with its durable defaults (`fsync`, `synchronous_commit = on`): a turn is on disk when
its reply is released, as on SQLite (`synchronous = FULL`). Usage:

    python bench/postgres.py [--conversations 200] [--seconds 5] [--rounds 3]

The machines this runs on are small and noisy: compare the ratio, not the raw figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from turns import engine_turns  # noqa: E402

from bot.logs import setup_logging  # noqa: E402
from tests.pg_server import PgServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_logging("ERROR")
    server = PgServer(durable=True)
    server.start()
    try:
        asyncio.run(_run(server, args))
    finally:
        server.stop()


async def _run(server: PgServer, args: argparse.Namespace) -> None:
    print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")
    print(f"{args.conversations} concurrent conversations, {args.seconds:g} s per measure")
    sqlite_rates: list[float] = []
    pg_rates: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            lite = await engine_turns(Path(tmp) / f"r{r}.db", args.conversations, args.seconds)
            pg = await engine_turns(server.database(), args.conversations, args.seconds)  # type: ignore[arg-type]
            sqlite_rates.append(lite["turns_per_s"])
            pg_rates.append(pg["turns_per_s"])
            print(
                f"round {r + 1}: SQLite {lite['turns_per_s']:.0f} turns/s"
                f" (p50 {lite['p50_ms']:.1f} ms, p99 {lite['p99_ms']:.1f} ms,"
                f" {lite['turns_per_commit']:.1f} turns a commit);"
                f" PostgreSQL {pg['turns_per_s']:.0f} turns/s"
                f" (p50 {pg['p50_ms']:.1f} ms, p99 {pg['p99_ms']:.1f} ms,"
                f" {pg['turns_per_commit']:.1f} turns a commit)"
            )
    lite, pg = statistics.median(sqlite_rates), statistics.median(pg_rates)
    print(
        f"median: SQLite {lite:.0f}, PostgreSQL {pg:.0f} turns/s; PostgreSQL/SQLite {pg / lite:.2f}"
    )


if __name__ == "__main__":
    main()
