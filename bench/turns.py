"""Benchmark: durable engine turns against the physical limit, measured in one run.

(a) the raw rate of single-row upsert-and-commit through aiosqlite on a temporary WAL
    database with the engine's own settings (synchronous=FULL), one commit at a time
    (context only: the engine commits many turns per transaction);
(b) the engine's durable turns per second, and p50/p99 turn latency, with N concurrent
    conversations each running a realistic mix of turns;
(c) the limit: the same durable work done by plain sqlite3 on the engine's own schema and
    settings, in the engine's measured batch size: per turn one conversation read, the
    case reads of the mix, a savepoint, the conversation update (version-checked), the
    transcript row and the transitions the engine wrote per turn; one commit per batch;
(c') the same with one savepoint per batch instead of one per turn, as the engine applies
    a batch when no group in it fails;
and the ratios (b)/(c) (the one the issue names), (b)/(c') and (b)/(a). Then, unless --no-open-loop,
open-loop latency: turns arriving as a Poisson process at fixed offered rates, latency
counted from each turn's scheduled arrival, with --stored conversations already in the
database (seeded by one bulk INSERT), and beside each rate the same arrivals served by
plain sqlite3 (the floor: a conversation read, the version-checked update and the transcript
row per turn, every turn due committed together, one sync per commit) and the same arrivals
answered by nothing (what the harness itself costs). Arrivals are timed by `time.sleep` in a
thread of their own and handed to the loop as a socket's input would wake it (the floor
sleeps the same way); the engine first runs each step of the mix once on other
conversations, as a server that has been answering for a while. Printed first: this disk's
`fdatasync` latency, which a durable commit cannot go below. With --settle S, each rate's
arrivals are first served for S seconds and not measured, by the engine and by the floor: a
server that has been under that load for a while (its WAL file grown to its working size),
where without it the first second or so of a run pays for growing the file. Usage:

    python bench/turns.py [--conversations 1000] [--seconds 5] [--rounds 3]
                          [--rates 230,2000,4000] [--stored 1000] [--open-seconds 5]
                          [--settle 0] [--dir /dev/shm]

The machines this runs on are small and noisy: compare the ratio, not the raw figures,
and only between numbers printed by the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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


def serving() -> None:
    """What a long-running server does after start-up (the Telegram bot does it), where the
    tree being measured has it."""
    try:
        from bot.runtime import settle_for_serving
    except ImportError:  # a tree from before issue 17
        return
    settle_for_serving()


# Processes measured together (`open_loop(begin_at=...)`) start their measured arrivals this
# long after the settling ones end, so that what settling left waiting is answered first.
SETTLE_GAP = 0.3

# Share of the mix's turns that look up a case (the receipts that are well formed).
CASE_READS = 3 / len(MIX)


async def migrated(path: Path) -> None:
    """An empty database with the engine's schema (the limit runs on the same tables)."""
    db = await Database.open(path)
    await db.close()


def sqlite_limit(
    path: Path, seconds: float, batch: int, writes_per_turn: float, savepoint_each: bool = True
) -> float:
    """Plain sqlite3, no event loop: the engine's durable work per turn, `batch` turns a
    commit, a savepoint per turn (else one per batch). Returns turns per second."""
    reader = sqlite3.connect(path, isolation_level=None)
    writer = sqlite3.connect(path, isolation_level=None)
    for conn in (reader, writer):
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    at = "2026-11-23T10:00:00"
    writer.executemany(
        "INSERT INTO cases (receipt_number, form_type, status_title, status_date, updated_at)"
        " VALUES (?, 'I-485', 'Case Was Received', '2026-01-01', ?)",
        [(f"EAC2190{i:06d}", at) for i in range(1000)],
    )
    users = 1000
    writer.executemany(
        "INSERT INTO conversations (channel, user_id, state, slots, offered, version,"
        " updated_at, trail) VALUES ('limit', ?, 'menu', '{}', '[]', 1, ?, '')",
        [(f"user{i}", at) for i in range(users)],
    )
    versions = [1] * users
    transitions = max(writes_per_turn - 2.0, 0.0)
    slots = '{"receipt": "EAC2190000001", "form": "I-485"}'
    offered = '["go:status", "go:info", "go:menu"]'
    count, reads_owed, trans_owed = 0, 0.0, 0.0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        firsts = [(count + i) % users for i in range(batch)]
        rows = []
        for u in firsts:
            rows.append(
                reader.execute(
                    "SELECT state, slots, offered, version, trail FROM conversations"
                    " WHERE channel = 'limit' AND user_id = ?",
                    (f"user{u}",),
                ).fetchone()
            )
            reads_owed += CASE_READS
            while reads_owed >= 1:
                reads_owed -= 1
                reader.execute(
                    "SELECT * FROM cases WHERE receipt_number = ?", (f"EAC2190{u:06d}",)
                ).fetchone()
        writer.execute("BEGIN IMMEDIATE")
        if not savepoint_each:
            writer.execute("SAVEPOINT batch")
        for u in firsts:
            if savepoint_each:
                writer.execute("SAVEPOINT turn")
            key = f"user{u}"
            n = writer.execute(
                "UPDATE conversations SET state = ?, slots = ?, offered = ?, version = ?,"
                " updated_at = ?, trail = ? WHERE channel = 'limit' AND user_id = ?"
                " AND version = ?",
                ("status", slots, offered, versions[u] + 1, at, "menu status", key, versions[u]),
            ).rowcount
            assert n == 1
            versions[u] += 1
            writer.execute(
                "INSERT INTO turns (channel, user_id, at, kind, value, state)"
                " VALUES ('limit', ?, ?, 'text', 'EAC2190000001', 'status')",
                (key, at),
            )
            trans_owed += transitions
            while trans_owed >= 1:
                trans_owed -= 1
                writer.execute(
                    "INSERT INTO transitions (channel, user_id, at, trigger, source, dest, rule)"
                    " VALUES ('limit', ?, ?, 'text', 'menu', 'status', 'receipt')",
                    (key, at),
                )
            if savepoint_each:
                writer.execute("RELEASE turn")
        if not savepoint_each:
            writer.execute("RELEASE batch")
        writer.execute("COMMIT")
        count += batch
    elapsed = time.perf_counter() - start
    reader.close()
    writer.close()
    return count / elapsed


async def engine_turns(path: Path, conversations: int, seconds: float) -> dict[str, float]:
    settings = load_settings(db_path=path, load_demo_cases=True)
    clock = FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz)
    db = await Database.open(path)
    engine = await create_engine(settings, db, clock)
    serving()
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
    row = await db.fetchone("SELECT COUNT(*) FROM transitions WHERE channel = 'bench'")
    moves = row[0] if row else 0
    await db.close()
    latencies.sort()
    return {
        "turns_per_s": durable / elapsed,
        "all_turns_per_s": turns / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "turns_per_commit": durable / max(commits, 1),
        # conversation row + transcript row + transitions, per durable turn
        "writes_per_turn": 2 + moves / max(durable, 1),
    }


async def seed(path: Path, stored: int) -> None:
    """`stored` conversations in the database, by one bulk INSERT copying a real row."""
    settings = load_settings(db_path=path, load_demo_cases=True)
    clock = FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz)
    db = await Database.open(path)
    engine = await create_engine(settings, db, clock)
    await engine.handle(TurnInput(ConversationKey("bench", "template"), clock.now(), text="/start"))
    await db.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)"
        " INSERT INTO conversations (channel, user_id, state, slots, offered, version,"
        " updated_at, trail) SELECT channel, 'user' || i, state, slots, offered, version,"
        " updated_at, trail FROM n, conversations WHERE channel = 'bench'"
        " AND user_id = 'template'",
        (stored,),
    )
    conn.execute("COMMIT")
    conn.close()


def poisson_arrivals(
    rate: float, seconds: float, stored: int, share: tuple[int, int] = (0, 1)
) -> list[tuple[float, int]]:
    """(seconds after the start, conversation) of each arrival: a Poisson process at `rate`,
    the same for the engine and for the floor (one seed). `share` = (i, n): the arrivals of
    the i-th of n processes serving the stored conversations between them (conversation c
    is process c mod n's), a stream of its own for each i."""
    index, count = share
    rng = random.Random(17 + index)
    plan: list[tuple[float, int]] = []
    at = 0.0
    while True:
        at += rng.expovariate(rate)
        if at > seconds:
            return plan
        plan.append((at, rng.randrange(stored // count) * count + index))


def feed(
    loop: asyncio.AbstractEventLoop,
    plan: list[tuple[float, int]],
    start: float,
    deliver: Callable[[list[tuple[float, int]]], None],
) -> None:
    """Runs in a thread of its own: sleeps until each arrival (`time.sleep`, as the floor
    does) and hands whatever is due to the loop in one wake-up, as input from a socket wakes
    it. Arrivals timed by the loop's own timers (`asyncio.sleep`) came up to 1 ms late
    (epoll's timeout is whole milliseconds), and that lateness was counted as the engine's."""
    i = 0
    while i < len(plan):
        wait = start + plan[i][0] - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        now = time.perf_counter() - start
        j = i
        while j < len(plan) and plan[j][0] <= now:
            j += 1
        loop.call_soon_threadsafe(deliver, [(start + at, user) for at, user in plan[i:j]])
        i = j


async def open_loop(
    path: Path,
    rate: float,
    seconds: float,
    stored: int,
    *,
    turns: bool = True,
    warm: bool = True,
    watch: Callable[[Database], None] | None = None,
    settle: float = 0.0,
    share: tuple[int, int] = (0, 1),
    begin_at: float | None = None,
    into: list[float] | None = None,
) -> dict[str, float]:
    """Poisson arrivals at `rate` turns/s on random stored conversations; latency from
    each turn's scheduled arrival to its durable answer. `turns=False`: the arrivals alone,
    answered by nothing (what the harness itself costs). `watch` is given the database
    before the arrivals start (`bench/open_anatomy.py` times its commits). Also gives the
    event loop thread's CPU: its share of a core, and per answered arrival, and the largest
    the WAL file grew (sampled four times a second).

    `settle`: seconds of the same arrivals served first and not measured, so that what is
    measured is a server under that load for a while (its WAL file grown to its working
    size, every conversation's row kept), not one that has just started.

    For several processes measured together (`bench/split_store.py`): `share` as in
    `poisson_arrivals`, `begin_at` the `time.perf_counter()` instant the arrivals begin (the
    measured ones SETTLE_GAP seconds after the settling ones end), and `into` gets every
    measured latency."""
    settings = load_settings(db_path=path, load_demo_cases=True)
    clock = FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz)
    db = await Database.open(path)
    engine = await create_engine(settings, db, clock)
    if warm:  # a server answering for a while: every step of the mix run once before
        for user in range(3):
            for kind, value in MIX:
                key = ConversationKey("warm-up", f"user{user}")
                await engine.handle(TurnInput(key, clock.now(), **{kind: value}))
    serving()
    if watch is not None:
        watch(db)
    steps: dict[int, int] = {}
    latencies: list[float] = []
    tasks: set[asyncio.Task[None]] = set()

    async def turn(user: int, scheduled: float) -> None:
        step = steps.get(user, 1)
        steps[user] = step + 1
        kind, value = MIX[step % len(MIX)]
        inp = TurnInput(ConversationKey("bench", f"user{user}"), clock.now(), **{kind: value})
        await engine.handle(inp)
        latencies.append(time.perf_counter() - scheduled)

    def deliver(due: list[tuple[float, int]]) -> None:
        if not turns:
            done = time.perf_counter()
            latencies.extend(done - scheduled for scheduled, _ in due)
            return
        for scheduled, user in due:
            task = asyncio.create_task(turn(user, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    plan = poisson_arrivals(rate, seconds, stored, share)
    loop = asyncio.get_running_loop()
    if settle > 0:
        began = time.perf_counter() if begin_at is None else begin_at
        settling = poisson_arrivals(rate, settle, stored, share)
        await loop.run_in_executor(None, feed, loop, settling, began, deliver)
        while tasks:
            await asyncio.gather(*list(tasks))
        latencies.clear()
    commits = db.commits
    wal = [0]
    sampling = asyncio.create_task(largest_file(Path(f"{path}-wal"), wal))
    start, cpu = time.perf_counter(), time.thread_time()
    if begin_at is not None:
        start = begin_at + (settle + SETTLE_GAP if settle > 0 else 0.0)
    await loop.run_in_executor(None, feed, loop, plan, start, deliver)
    while tasks:
        await asyncio.gather(*list(tasks))
    wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
    sampling.cancel()
    commits = db.commits - commits
    await db.close()
    latencies.sort()
    if into is not None:
        into.extend(latencies)
    return {
        "turns": len(latencies),
        "achieved": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "loop_share": cpu / wall,
        "loop_us_each": cpu / max(len(latencies), 1) * 1e6,
        "turns_per_commit": len(latencies) / max(commits, 1),
        "wal_mib": wal[0] / 2**20,
    }


async def largest_file(path: Path, largest: list[int]) -> None:
    """Until cancelled: the largest size `path` reaches, into `largest[0]`."""
    while True:
        largest[0] = max(largest[0], file_size(path))
        await asyncio.sleep(0.25)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # not there (yet)
        return 0


def limit_open_loop(
    path: Path, rate: float, seconds: float, stored: int, settle: float = 0.0
) -> dict[str, float]:
    """The open loop's floor: the same Poisson arrivals (same seed) served by plain sqlite3
    in one thread; whatever is due when a commit ends goes into the next one. `settle` as
    in `open_loop`: seconds served first and not measured."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA synchronous = FULL")
    if settle > 0:
        _floor_serve(conn, poisson_arrivals(rate, settle, stored), [])
    latencies: list[float] = []
    _floor_serve(conn, poisson_arrivals(rate, seconds, stored), latencies)
    conn.close()
    latencies.sort()
    return {
        "turns": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def _floor_serve(
    conn: sqlite3.Connection, arrivals: list[tuple[float, int]], latencies: list[float]
) -> None:
    """Serve `arrivals` from now on, each commit taking whatever is due; each turn's latency
    from its scheduled arrival into `latencies`."""
    start = time.perf_counter()
    i = 0
    while i < len(arrivals):
        now = time.perf_counter() - start
        if arrivals[i][0] > now:
            time.sleep(arrivals[i][0] - now)
            now = time.perf_counter() - start
        due = []
        while i < len(arrivals) and arrivals[i][0] <= now:
            due.append(arrivals[i])
            i += 1
        conn.execute("BEGIN IMMEDIATE")
        for _, user in due:
            key = f"user{user}"
            row = conn.execute(
                "SELECT state, slots, offered, version, trail FROM conversations"
                " WHERE channel = 'bench' AND user_id = ?",
                (key,),
            ).fetchone()
            conn.execute("SAVEPOINT turn")
            conn.execute(
                "UPDATE conversations SET version = ?, updated_at = ? WHERE channel = 'bench'"
                " AND user_id = ? AND version = ?",
                (row[3] + 1, "2026-11-23T10:00:00", key, row[3]),
            )
            conn.execute(
                "INSERT INTO turns (channel, user_id, at, kind, value, state)"
                " VALUES ('bench', ?, '2026-11-23T10:00:00', 'text', '/menu', ?)",
                (key, row[0]),
            )
            conn.execute("RELEASE turn")
        conn.execute("COMMIT")
        done = time.perf_counter() - start
        latencies.extend(done - scheduled for scheduled, _ in due)


def disk_sync(where: Path, samples: int = 200) -> dict[str, float]:
    """What one durable commit cannot go below on this disk: `fdatasync` of a 4 KiB page
    overwritten in place, every 4 ms (SQLite syncs the WAL once per commit at
    synchronous=FULL)."""
    probe = where / "sync-probe"
    fd = os.open(probe, os.O_RDWR | os.O_CREAT)
    times: list[float] = []
    try:
        os.write(fd, b"\0" * 4096 * 16)
        os.fsync(fd)
        for i in range(samples):
            os.pwrite(fd, bytes([i % 256]) * 4096, (i % 16) * 4096)
            began = time.perf_counter()
            os.fdatasync(fd)
            times.append(time.perf_counter() - began)
            time.sleep(0.004)
    finally:
        os.close(fd)
        probe.unlink()
    times.sort()
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternate (a), (b) and (c) this many times; the medians are reported",
    )
    parser.add_argument("--rates", default="230,2000,4000", help="open-loop offered turns/s")
    parser.add_argument(
        "--stored",
        default="1000",
        help="stored conversations for the open loop, comma-separated (e.g. 1000,1000000)",
    )
    parser.add_argument("--open-seconds", type=float, default=5.0)
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds of each rate's arrivals served before the measured ones, by the engine "
        "and by the floor: a server under that load for a while, not one just started "
        "(default 0: measured from the start)",
    )
    parser.add_argument(
        "--dir",
        default=None,
        help="where the databases go (default: the system's temporary folder); /dev/shm "
        "takes the disk's sync out and leaves the engine's own latency",
    )
    parser.add_argument("--no-open-loop", action="store_true")
    parser.add_argument("--no-closed-loop", action="store_true")
    args = parser.parse_args()
    setup_logging("ERROR")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {aiosqlite.sqlite_version}"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        if not args.no_closed_loop:
            raws, engines, limits, limits2 = [], [], [], []
            for r in range(args.rounds):
                raw = await raw_upserts(Path(tmp) / f"raw{r}.db", args.seconds)
                eng = await engine_turns(
                    Path(tmp) / f"engine{r}.db", args.conversations, args.seconds
                )
                batch = max(1, round(eng["turns_per_commit"]))
                limit_path = Path(tmp) / f"limit{r}.db"
                await migrated(limit_path)
                limit = sqlite_limit(limit_path, args.seconds, batch, eng["writes_per_turn"])
                limit2_path = Path(tmp) / f"limit{r}b.db"
                await migrated(limit2_path)
                limit2 = sqlite_limit(
                    limit2_path, args.seconds, batch, eng["writes_per_turn"], savepoint_each=False
                )
                raws.append(raw)
                engines.append(eng)
                limits.append(limit)
                limits2.append(limit2)
                print(
                    f"round {r + 1}: (a) {raw:8.0f} upserts/s   (b) {eng['turns_per_s']:8.0f} "
                    f"durable turns/s ({eng['all_turns_per_s']:.0f} with refused input)  "
                    f"p50 {eng['p50_ms']:.1f} ms  p99 {eng['p99_ms']:.1f} ms  "
                    f"{eng['turns_per_commit']:.1f} turns/commit  "
                    f"{eng['writes_per_turn']:.2f} writes/turn   (c) {limit:8.0f} limit turns/s"
                    f"  (b)/(c) {eng['turns_per_s'] / limit:.2f}  "
                    f"(c') {limit2:8.0f}  (b)/(c') {eng['turns_per_s'] / limit2:.2f}  "
                    f"(b)/(a) {eng['turns_per_s'] / raw:.2f}"
                )
            ratios = [e["turns_per_s"] / a for e, a in zip(engines, raws, strict=True)]
            to_limit = [e["turns_per_s"] / c for e, c in zip(engines, limits, strict=True)]
            to_limit2 = [e["turns_per_s"] / c for e, c in zip(engines, limits2, strict=True)]
            print(
                f"median: (a) {statistics.median(raws):.0f} upserts/s, (b) "
                f"{statistics.median(e['turns_per_s'] for e in engines):.0f} durable turns/s, "
                f"(c) {statistics.median(limits):.0f} limit turns/s, "
                f"p50 {statistics.median(e['p50_ms'] for e in engines):.1f} ms, "
                f"p99 {statistics.median(e['p99_ms'] for e in engines):.1f} ms, "
                f"ratio (b)/(a) {statistics.median(ratios):.2f}, "
                f"ratio to the batched limit (b)/(c) {statistics.median(to_limit):.2f}, "
                f"(b)/(c') {statistics.median(to_limit2):.2f}"
            )
        if not args.no_open_loop:
            sync = disk_sync(Path(tmp))
            print(
                f"open loop in {Path(tmp).parent}: fdatasync of a page here p50 "
                f"{sync['p50_ms']:.2f} ms, p99 {sync['p99_ms']:.2f} ms (a turn arriving "
                "during a commit waits for it and its own)"
            )
            for stored in (int(x) for x in args.stored.split(",")):
                path = Path(tmp) / f"open{stored}.db"
                began = time.perf_counter()
                await seed(path, stored)
                print(
                    f"open loop, {stored} stored conversations (seeded in "
                    f"{time.perf_counter() - began:.1f} s)"
                    + (
                        f", measured after {args.settle:g} s of the same load:"
                        if args.settle
                        else ":"
                    )
                )
                for rate in (float(x) for x in args.rates.split(",")):
                    res = await open_loop(path, rate, args.open_seconds, stored, settle=args.settle)
                    floor = limit_open_loop(path, rate, args.open_seconds, stored, args.settle)
                    alone = await open_loop(path, rate, args.open_seconds, stored, turns=False)
                    print(
                        f"  offered {rate:6.0f}/s  achieved {res['achieved']:6.0f}/s  "
                        f"p50 {res['p50_ms']:6.1f} ms  p99 {res['p99_ms']:6.1f} ms  "
                        f"WAL up to {res['wal_mib']:4.0f} MiB   "
                        f"floor (plain sqlite3) p50 {floor['p50_ms']:5.1f} ms  "
                        f"p99 {floor['p99_ms']:5.1f} ms   arrivals alone p50 "
                        f"{alone['p50_ms']:5.2f} ms  p99 {alone['p99_ms']:5.2f} ms"
                    )


if __name__ == "__main__":
    asyncio.run(main())
