"""Benchmark: `tierline cases import` of a large file while applicants' turns run.

Writes a CSV of N rows, then runs two processes on one database: a load driver that runs
turns through the engine as the Telegram bot would (C conversations, each turn after the
other at an applicant's pace), and `python -m bot cases import` (measuring its wall time
and peak resident memory). Prints the import's rows per second and peak memory, and the
turns' latency and how many were refused ("not saved") while the import ran. Usage:

    python bench/import.py [--rows 1000000] [--conversations 8] [--root PATH]

`--root` runs both processes on another checkout's code (e.g. the code before a change),
so two versions can be compared in one session. The machines this runs on are small and
noisy: compare figures printed in one session only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "sys.stdout.flush()\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)\n"
    "sys.exit(code)\n"
)

# Runs turns until its standard input closes, then prints their latencies and refusals.
LOAD = """
import asyncio, json, sys, time
from datetime import datetime
from pathlib import Path
from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import load_settings
from bot.engine import ConversationKey, TurnInput
from bot.engine.engine import TurnNotSaved
from bot.logs import setup_logging
from bot.storage.database import Database

async def main(db_path, conversations):
    setup_logging("ERROR")
    settings = load_settings(db_path=Path(db_path))
    db = await Database.open(settings.db_path)
    engine = await create_engine(settings, db, FixedClock(datetime(2026, 11, 23, 10), settings.tz))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    done = loop.run_in_executor(None, sys.stdin.read)
    latencies, refused = [], 0
    async def applicant(n):
        nonlocal refused
        key = ConversationKey("bench", f"c{n}")
        texts = ("/start", "EAC2190000001", "/menu")
        i = 0
        while not done.done():
            t0 = time.perf_counter()
            try:
                await engine.handle(TurnInput(key, engine.now(), text=texts[i % 3]))
            except TurnNotSaved:
                refused += 1
            latencies.append(time.perf_counter() - t0)
            i += 1
            await asyncio.sleep(0.005)
    await asyncio.gather(*(applicant(n) for n in range(conversations)))
    await db.close()
    print(json.dumps({"latencies": latencies, "refused": refused}), flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def write_csv(path: Path, rows: int) -> None:
    with path.open("w") as fh:
        fh.write("receipt_number,form_type,status_title,status_date,zip_code\n")
        for n in range(rows):
            fh.write(f"LIN2{n:09d},I-485,Bench Row Pending,2026-05-01,10001\n")


async def run(rows: int, conversations: int, root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(root)}
    pipe = asyncio.subprocess.PIPE
    with tempfile.TemporaryDirectory(prefix="tierline-import-bench-") as tmp:
        csv, db_path = Path(tmp) / "cases.csv", Path(tmp) / "bench.db"
        write_csv(csv, rows)
        load = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOAD, str(db_path), str(conversations),
            cwd=root, env=env, stdin=pipe, stdout=pipe,
        )  # fmt: skip
        assert load.stdout is not None and load.stdin is not None
        assert (await load.stdout.readline()).strip() == b"ready"
        started = time.perf_counter()
        command = [sys.executable, "-m", "bot", "cases", "import", str(csv), "--db", str(db_path)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PEAK_RSS, *command, cwd=root, env=env, stdout=pipe, stderr=pipe
        )
        stdout, stderr = await proc.communicate()
        elapsed = time.perf_counter() - started
        load.stdin.close()
        stats = json.loads((await load.stdout.read()).decode().strip().splitlines()[-1])
        await load.wait()
        with sqlite3.connect(db_path) as conn:
            imported = conn.execute(
                "SELECT COUNT(*) FROM cases WHERE status_title = 'Bench Row Pending'"
            )
            count = imported.fetchone()[0]
        if proc.returncode != 0:
            print(stderr.decode().strip()[-2000:], file=sys.stderr)
        peak_kib = int(stdout.decode().split()[-1])
        latencies = sorted(stats["latencies"])

        def pct(p: float) -> float:
            return float(latencies[min(len(latencies) - 1, int(len(latencies) * p))]) * 1000

        print(
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}; code at {root}"
        )
        print(
            f"import: {count} of {rows} rows in {elapsed:.1f} s ({count / elapsed:,.0f} rows/s), "
            f"exit {proc.returncode}, peak RSS {peak_kib / 1024:.0f} MiB"
        )
        print(
            f"turns meanwhile: {len(latencies)}, refused {stats['refused']}, latency p50 "
            f"{pct(0.5):.0f} ms p99 {pct(0.99):.0f} ms max {pct(1.0):.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose CLI to run")
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.conversations, args.root.resolve()))


if __name__ == "__main__":
    main()
