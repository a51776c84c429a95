"""Where an open-loop turn's time goes: the event loop's CPU and the commit's round trip.

    python bench/open_anatomy.py [--rates 230,2000,4000] [--stored 1000] [--seconds 3]
                                 [--dir /dev/shm] [--hand-overs 20000]

`bench/turns.py` prints the open loop's latency; this prints why it is what it is, for the
same arrivals (Poisson, same seed, random stored conversations, the mix of turns):

- the share of one core the event loop's thread used, and its CPU time per turn: the loop's
  thread runs every turn's Python and the batch's statements, so as that share nears one,
  turns queue behind one another;
- turns per commit, and the commit's round trip in three parts: from the loop handing the
  `COMMIT` to the writer's thread until that thread runs it (a thread wake-up and Python's
  GIL), the `COMMIT` itself (the sync to disk), and from its end until the loop resumes
  (a second wake-up). These are read by wrapping the database's writer thread (internal
  names: the script says so and skips this part when they change);
- the same arrivals answered by nothing: the loop's CPU for being woken by each;
- the round trip of a plain hand-over between the loop and a thread on this machine,
  threads on two cores and on one (when the process may choose its CPUs).

Compare only figures printed by the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.turns import open_loop, seed
from bot.logs import setup_logging
from bot.storage import database
from bot.storage.database import Database


def _commit_clock(db: Any, marks: list[dict[str, float]]) -> bool:
    """Time each COMMIT's round trip through the writer's thread into `marks`, as commits
    end; False when this tree's database has no such thread (internal names)."""
    writer = getattr(db, "_writer_thread", None)
    commit = getattr(database, "_commit", None)
    if writer is None or commit is None or not hasattr(writer, "run"):
        return False
    run = writer.run

    def timed_run(step: Callable[[Any], None]) -> Any:
        if step is not commit:
            return run(step)
        mark = {"handed": time.perf_counter()}

        def timed(conn: Any) -> None:
            mark["began"] = time.perf_counter()
            step(conn)
            mark["ended"] = time.perf_counter()

        done = run(timed)
        done.add_done_callback(lambda _: marks.append({**mark, "resumed": time.perf_counter()}))
        return done

    writer.run = timed_run
    return True


def _q(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))] * 1000


async def anatomy(path: Path, rate: float, seconds: float, stored: int) -> None:
    marks: list[dict[str, float]] = []

    def watch(db: Database) -> None:
        _commit_clock(db, marks)

    res = await open_loop(path, rate, seconds, stored, watch=watch)
    print(
        f"  offered {rate:6.0f}/s: p50 {res['p50_ms']:5.1f} ms  p99 {res['p99_ms']:5.1f} ms   "
        f"loop thread {res['loop_share']:4.0%} of a core, {res['loop_us_each']:4.0f} us a turn"
        f"   {res['turns_per_commit']:5.1f} turns a commit"
    )
    if marks:
        parts = (("to the writer", "handed", "began"), ("COMMIT", "began", "ended"))
        parts += (("back to the loop", "ended", "resumed"),)
        print(
            "    commit round trip, p50 / p99 (ms): "
            + "   ".join(
                f"{name} {_q([m[b] - m[a] for m in marks], 0.5):.2f} / "
                f"{_q([m[b] - m[a] for m in marks], 0.99):.2f}"
                for name, a, b in parts
            )
        )
    alone = await open_loop(path, rate, seconds, stored, turns=False)
    print(
        f"    the arrivals alone, answered by nothing: loop thread {alone['loop_share']:4.0%} "
        f"of a core, {alone['loop_us_each']:4.0f} us an arrival"
    )


def hand_over(times: int = 20_000) -> tuple[float, float]:
    """(wall, loop-thread CPU) in microseconds of one round trip: the loop hands a future to
    a thread through a SimpleQueue and awaits it; the thread answers with
    call_soon_threadsafe (what the database's writer thread does once per commit)."""

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        work: queue.SimpleQueue[asyncio.Future[None] | None] = queue.SimpleQueue()

        def serve() -> None:
            while (done := work.get()) is not None:
                loop.call_soon_threadsafe(done.set_result, None)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        start, cpu = time.perf_counter(), time.thread_time()
        for _ in range(times):
            done = loop.create_future()
            work.put(done)
            await done
        wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
        work.put(None)
        thread.join()
        return wall / times * 1e6, cpu / times * 1e6

    return asyncio.run(main())


async def measure(rates: list[float], stored: int, seconds: float, where: str | None) -> None:
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        path = Path(tmp) / "open.db"
        await seed(path, stored)
        print(f"open loop, {stored} stored conversations, database in {Path(tmp).parent}:")
        for rate in rates:
            await anatomy(path, rate, seconds, stored)


def hand_overs(times: int) -> None:
    wall, cpu = hand_over(times)
    print(f"hand-over to a thread and back: {wall:.0f} us, {cpu:.0f} us of the loop's CPU")
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1:
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(allowed)})  # threads started now share this one CPU
        try:
            wall, cpu = hand_over(times)
        finally:
            os.sched_setaffinity(0, allowed)
        print(f"  both threads on one CPU: {wall:.0f} us, {cpu:.0f} us of the loop's CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="230,2000,4000", help="offered turns/s")
    parser.add_argument("--stored", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--dir", default=None, help="where the database goes (e.g. /dev/shm)")
    parser.add_argument("--hand-overs", type=int, default=20_000, help="round trips timed")
    args = parser.parse_args()
    setup_logging("ERROR")
    hand_overs(args.hand_overs)
    rates = [float(x) for x in args.rates.split(",")]
    asyncio.run(measure(rates, args.stored, args.seconds, args.dir))


if __name__ == "__main__":
    main()
