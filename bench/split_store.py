"""Benchmark: the open loop of `bench/turns.py` served by one engine process, and by N
engine processes measured together, each with a SQLite file of its own and 1/N of the
conversations (conversation c is process c mod N's; each process its own Poisson stream at
rate/N, so together they offer the rate). With --shared, the N processes share one file.

This is not a configuration Tierline ships: the engine keeps one store, where a turn's
booking commits with its state and the staff desk sees every conversation. It measures what
splitting the store would buy at rates where one event loop is most of a core busy, with
everything else as in `bench/turns.py --settle`: each process seeds its file, opens the
engine, runs every step of the mix once, then serves --settle seconds of its arrivals
before the measured ones, and all of them begin at one instant the parent gives them.
Printed: the p50 and p99 of every measured turn of every process together, and each
process's event-loop thread as a share of a core. Usage:

    python bench/split_store.py [--processes 1,2] [--rate 4000] [--seconds 3]
                                [--settle 2] [--stored 1000] [--rounds 2] [--shared]
                                [--dir DIR]

The machines this runs on are small and noisy: compare configurations measured in one run
(they alternate each round), not figures from different runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.turns import open_loop, seed
from bot.logs import setup_logging

# Time for every process to start, seed its file and open the engine before the arrivals.
START_AFTER = 4.0


def measure(
    processes: int, args: argparse.Namespace, where: Path
) -> tuple[list[float], list[float]]:
    """Run `processes` engine processes together: every measured latency (sorted) and each
    process's event-loop share of a core."""
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        if args.shared:
            asyncio.run(seed(Path(tmp) / "shared.db", args.stored))
        begin_at = time.perf_counter() + START_AFTER
        children = []
        for i in range(processes):
            path = Path(tmp) / ("shared.db" if args.shared else f"store{i}.db")
            child = [sys.executable, __file__, "--child", f"{i},{processes}", str(path)]
            child += [f"--{k}={getattr(args, k)}" for k in ("rate", "seconds", "settle", "stored")]
            child += [f"--begin-at={begin_at!r}", f"--out={Path(tmp) / f'out{i}.json'}"]
            children.append(subprocess.Popen(child + (["--shared"] if args.shared else [])))
        for child in children:
            if child.wait() != 0:
                raise SystemExit(f"an engine process failed (exit {child.returncode})")
        latencies: list[float] = []
        shares: list[float] = []
        for i in range(processes):
            result = json.loads((Path(tmp) / f"out{i}.json").read_text())
            latencies += result["latencies"]
            shares.append(result["loop_share"])
    latencies.sort()
    return latencies, shares


async def serve_share(args: argparse.Namespace) -> dict[str, object]:
    """One engine process: its share of the arrivals; its latencies and loop share."""
    setup_logging("ERROR")
    index, count = (int(x) for x in args.child.split(","))
    path = Path(args.path)
    if not args.shared:
        await seed(path, args.stored)
    latencies: list[float] = []
    result = await open_loop(
        path,
        args.rate / count,
        args.seconds,
        args.stored,
        settle=args.settle,
        share=(index, count),
        begin_at=args.begin_at,
        into=latencies,
    )
    return {"latencies": latencies, "loop_share": result["loop_share"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,2", help="engine processes, comma-separated")
    parser.add_argument("--rate", type=float, default=4000.0, help="offered turns/s in all")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds served first")
    parser.add_argument("--stored", type=int, default=1000, help="stored conversations in all")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--shared", action="store_true", help="one SQLite file for them all")
    parser.add_argument("--dir", default=None, help="where the files go (default: temp)")
    # one engine process's own arguments (the parent passes them)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--begin-at", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        Path(args.out).write_text(json.dumps(asyncio.run(serve_share(args))))
        return
    where = Path(args.dir or tempfile.gettempdir())
    store = "one shared SQLite file" if args.shared else "a SQLite file each"
    print(
        f"open loop at {args.rate:.0f} turns/s in all, {args.stored} stored conversations, "
        f"measured {args.seconds:g} s after {args.settle:g} s of the same load, in {where}"
    )
    for r in range(args.rounds):
        for processes in (int(x) for x in args.processes.split(",")):
            latencies, shares = measure(processes, args, where)
            p50 = statistics.median(latencies) * 1000
            p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
            print(
                f"round {r + 1}: {processes} process(es)"
                f"{', ' + store if processes > 1 else ''}: {len(latencies)} turns"
                f"  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  event loop, share of a core: "
                + ", ".join(f"{share:.2f}" for share in shares),
                flush=True,
            )


if __name__ == "__main__":
    main()
