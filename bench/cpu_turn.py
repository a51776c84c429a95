"""CPU per turn: the main thread's CPU time for one engine turn, without the disk.

    python bench/cpu_turn.py [--conversations 50] [--turns 300]

The mix of `bench/turns.py` runs through the engine with the database on /dev/shm (when
there is one), so a commit costs no sync and what is left is the engine's own work: the
interpreter, the guards, rendering, building the writes. Compare two trees by running
each tree's copy of this script back to back.
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


async def main(conversations: int, turns: int, where: str | None) -> None:
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

        cpu, wall = time.thread_time(), time.perf_counter()
        await asyncio.gather(*(converse(u) for u in range(conversations)))
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        await db.close()
    print(f"{cpu / done * 1e6:.0f} us main-thread CPU per turn; {done / wall:.0f} turns/s wall")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    asyncio.run(main(args.conversations, args.turns, shm))
