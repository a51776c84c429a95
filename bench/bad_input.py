"""Benchmark: hostile input through the real `python -m bot console --jsonl` process.

Feeds N lines that mix every kind of bad input (lone surrogates, lines of thousands of
nested arrays, forged and over-long button data, non-UTF-8 bytes, control characters, a few
lines of several MiB) with ordinary turns, in one process on a fresh SQLite file, and
reports: lines in, JSON objects out, tracebacks seen, the state stored at the end, the
time taken and the process's peak memory. Usage:

    python bench/bad_input.py [--lines 5000] [--huge-mib 64]

Everything printed is measured in this run; see docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def hostile_lines(count: int, huge_mib: int, seed: int = 7) -> Iterator[bytes]:
    rng = random.Random(seed)
    kinds = [
        lambda: b'{"text": "/help\\ud800"}',
        lambda: b'{"text": "' + b"\\udc%02x" % rng.randrange(256) + b' EAC2190000001"}',
        lambda: b'{"text": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        lambda: b'{"text": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
        lambda: json.dumps({"button": "x" * rng.randrange(65, 400)}).encode(),
        lambda: json.dumps({"button": "confirm:yes"}).encode(),
        lambda: b"\xff\xfe\xc3\x28 caf\xe9",
        lambda: b"\x00\x07\x1b[2J\x7f",
        lambda: b"z" * rng.randrange(5_000, 60_000),
        lambda: b'{"button": 42}',
        lambda: b"/menu",
        lambda: b"EAC2190000001",
        lambda: json.dumps({"button": "nav:agent"}).encode(),
    ]
    yield b"/start"
    for i in range(count - 2):
        if huge_mib and i % 1000 == 500:
            yield b"h" * (huge_mib * 1024 * 1024)  # one very long line per 1,000
        else:
            yield rng.choice(kinds)()
    yield b"/menu"


def write_feed(path: Path, lines: int, huge_mib: int) -> tuple[int, int]:
    count = size = 0
    with path.open("wb") as fh:
        for line in hostile_lines(lines, huge_mib):
            fh.write(line + b"\n")
            count, size = count + 1, size + len(line) + 1
    return count, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--huge-mib", type=int, default=64, help="size of the very long lines")
    parser.add_argument("--write-feed", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_feed:  # in a process of its own, so the measuring one stays small
        write_feed(args.write_feed, args.lines, args.huge_mib)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db, feed = Path(tmp) / "bench.db", Path(tmp) / "input.txt"
        out_path, err_path = Path(tmp) / "out.txt", Path(tmp) / "err.txt"
        options = ["--lines", str(args.lines), "--huge-mib", str(args.huge_mib)]
        subprocess.run([sys.executable, __file__, "--write-feed", str(feed), *options], check=True)
        size = feed.stat().st_size
        started = time.perf_counter()
        with feed.open("rb") as stdin, out_path.open("wb") as out, err_path.open("wb") as err:
            child = subprocess.Popen(
                [sys.executable, "-m", "bot", "console", "--jsonl", "--db", str(db)],
                stdin=stdin,
                stdout=out,
                stderr=err,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
            child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        stdout, stderr = out_path.read_bytes(), err_path.read_bytes()
        parsed = [json.loads(x) for x in stdout.decode().splitlines()]
        with sqlite3.connect(db) as conn:
            stored = conn.execute(
                "SELECT state, version FROM conversations WHERE user_id = 'local'"
            ).fetchone()
        with feed.open("rb") as fh:
            count = sum(1 for _ in fh)
    tracebacks = stdout.count(b"Traceback") + stderr.count(b"Traceback")
    print(f"lines in:            {count} ({size / 2**20:.0f} MiB)")
    print(f"JSON objects out:    {len(parsed)}")
    print(f"exit status:         {child.returncode}")
    print(f"tracebacks:          {tracebacks}")
    print(f"last answer's state: {parsed[-1]['state'] if parsed else None}")
    print(f"stored at the end:   state {stored[0]}, version {stored[1]}")
    print(f"time:                {elapsed:.1f} s")
    print(f"peak memory:         {usage.ru_maxrss / 1024:.0f} MiB (the console process)")


if __name__ == "__main__":
    main()
