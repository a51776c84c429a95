"""Benchmark: durable engine turns against raw SQLite commits, measured in one run.

(a) the raw rate of single-row upsert-and-commit through aiosqlite on a temporary WAL
    database with the engine's own settings (synchronous=FULL), one commit at a time;
(b) the engine's durable turns per second, and p50/p99 turn latency, with N concurrent
    conversations each running a realistic mix of turns;
and the ratio (b)/(a). Usage:

    python bench/turns.py [--conversations 1000] [--seconds 5] [--rounds 3]

The machines this runs on are small and noisy: compare the ratio, not the raw figures,
and only between numbers printed by the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import load_settings
from bot.engine import ConversationKey, TurnInput
from bot.logs import setup_logging
from bot.storage.database import Database

# A conversation's turns, in order: what applicants do most (see docs/performance.md).
# Items are ("text", value) or ("button", value); receipts are in config/demo_cases.csv.
MIX: list[tuple[str, str]] = [
    ("text", "/start"),
    ("button", "go:status"),
    ("text", "eac-21-900-00001"),  # a case status, typed the way people type it
    ("button", "status:again"),
    ("text", "IOE0912345678"),
    ("text", "/help"),
    ("text", "EAC219000000"),  # one digit short: refused, nothing written
    ("text", "/menu"),
    ("button", "go:info"),
    ("text", "LIN2210054321"),  # a receipt typed in the middle of another flow
    ("text", "/menu"),
]


async def raw_upserts(path: Path, seconds: float) -> float:
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = FULL")
    await conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT, n INTEGER)")
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        await conn.execute("BEGIN")
        await conn.execute(
            "INSERT INTO kv VALUES (?, ?, 1) ON CONFLICT (k) DO UPDATE SET v = excluded.v, "
            "n = n + 1",
            (f"user{count % 1000}", "state"),
        )
        await conn.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - start
    await conn.close()
    return count / elapsed


async def engine_turns(path: Path, conversations: int, seconds: float) -> dict[str, float]:
    settings = load_settings(db_path=path, load_demo_cases=True)
    clock = FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz)
    db = await Database.open(path)
    engine = await create_engine(settings, db, clock)
    latencies: list[float] = []
    commits_before = db.commits
    deadline = time.perf_counter() + seconds
    turns = 0

    async def converse(user: int) -> None:
        nonlocal turns
        key = ConversationKey("bench", f"user{user}")
        step = user % len(MIX)  # conversations start at different points of the mix
        while time.perf_counter() < deadline:
            kind, value = MIX[step % len(MIX)]
            inp = TurnInput(key, clock.now(), **{kind: value})
            began = time.perf_counter()
            await engine.handle(inp)
            latencies.append(time.perf_counter() - began)
            turns += 1
            step += 1

    start = time.perf_counter()
    await asyncio.gather(*(converse(i) for i in range(conversations)))
    elapsed = time.perf_counter() - start
    commits = db.commits - commits_before
    # Durable turns: those committed with their writes (every accepted turn adds a row to
    # `turns`); input refused as bad writes nothing and is not counted here.
    row = await db.fetchone("SELECT COUNT(*) FROM turns WHERE channel = 'bench'")
    durable = row[0] if row else 0
    await db.close()
    latencies.sort()
    return {
        "turns_per_s": durable / elapsed,
        "all_turns_per_s": turns / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "turns_per_commit": durable / max(commits, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternate (a) and (b) this many times; the medians are reported",
    )
    args = parser.parse_args()
    setup_logging("ERROR")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {aiosqlite.sqlite_version}"
    )
    raws, engines = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            raw = await raw_upserts(Path(tmp) / f"raw{r}.db", args.seconds)
            eng = await engine_turns(Path(tmp) / f"engine{r}.db", args.conversations, args.seconds)
            raws.append(raw)
            engines.append(eng)
            print(
                f"round {r + 1}: (a) {raw:8.0f} upserts/s   (b) {eng['turns_per_s']:8.0f} "
                f"durable turns/s ({eng['all_turns_per_s']:.0f} with refused input)  "
                f"p50 {eng['p50_ms']:.1f} ms  p99 {eng['p99_ms']:.1f} ms  "
                f"{eng['turns_per_commit']:.1f} turns/commit  ratio {eng['turns_per_s'] / raw:.2f}"
            )
    raw = statistics.median(raws)
    ratios = [e["turns_per_s"] / a for e, a in zip(engines, raws, strict=True)]
    print(
        f"median: (a) {raw:.0f} upserts/s, (b) "
        f"{statistics.median(e['turns_per_s'] for e in engines):.0f} durable turns/s, "
        f"p50 {statistics.median(e['p50_ms'] for e in engines):.1f} ms, "
        f"p99 {statistics.median(e['p99_ms'] for e in engines):.1f} ms, "
        f"ratio (b)/(a) {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
