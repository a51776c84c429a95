"""CPU per turn: the main thread's CPU time for one engine turn, without the disk.

    python bench/cpu_turn.py [--conversations 50] [--turns 300]
    python bench/cpu_turn.py --conversations 1,2,5,20,200   # per turn and per commit

The mix of `bench/turns.py` runs through the engine with the database on /dev/shm (when
there is one), so a commit costs no sync and what is left is the engine's own work: the
interpreter, the guards, rendering, building the writes. Compare two trees by running
each tree's copy of this script back to back.

Each conversation waits for its answer before it says more, so N conversations make
commits of about N turns. Given several counts, the script also splits the CPU into a part
per turn and a part per commit (least squares over `cpu per turn = t + c / turns per
commit`): what a quiet server, or an open loop with a few turns a commit, pays beyond the
closed loop's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.turns import MIX
from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import load_settings
from bot.engine import ConversationKey, TurnInput
from bot.storage.database import Database


async def main(conversations: int, turns: int, where: str | None) -> tuple[float, float]:
    """(main-thread CPU per turn in seconds, turns per commit), also printed."""
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        settings = load_settings(db_path=Path(tmp) / "cpu.db", load_demo_cases=True)
        clock = FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz)
        db = await Database.open(settings.db_path)
        engine = await create_engine(settings, db, clock)
        done = 0

        async def converse(user: int) -> None:
            nonlocal done
            key = ConversationKey("bench", f"user{user}")
            for i in range(turns):
                kind, value = MIX[(user + i) % len(MIX)]
                await engine.handle(TurnInput(key, clock.now(), **{kind: value}))
                done += 1

        commits = db.commits
        cpu, wall = time.thread_time(), time.perf_counter()
        await asyncio.gather(*(converse(u) for u in range(conversations)))
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        batch = done / max(db.commits - commits, 1)
        await db.close()
    print(
        f"{conversations:4d} at once: {cpu / done * 1e6:.0f} us main-thread CPU per turn; "
        f"{done / wall:.0f} turns/s wall; {batch:.1f} turns a commit"
    )
    return cpu / done, batch


def per_turn_and_commit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares of `cpu = t + c / batch` over (cpu per turn, turns per commit)."""
    xs = [1 / batch for _, batch in points]
    ys = [cpu for cpu, _ in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    c = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - c * mx, c


async def sweep(counts: list[int], turns: int, where: str | None) -> None:
    points = [await main(n, turns, where) for n in counts]
    if len({round(batch, 1) for _, batch in points}) > 1:
        t, c = per_turn_and_commit(points)
        print(f"fit: {t * 1e6:.0f} us a turn + {c * 1e6:.0f} us a commit")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--conversations",
        default="50",
        help="how many at once; several, comma-separated, also split per turn and per commit",
    )
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    counts = [int(x) for x in args.conversations.split(",")]
    asyncio.run(sweep(counts, args.turns, shm))
