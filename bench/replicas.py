"""Benchmark: durable turns with 1, 2 and 4 replicas on one PostgreSQL against SQLite with
one process, the same mix of turns (bench/turns.py), in the same run, rounds alternating;
then open-loop latency at fixed offered rates, spread over the replicas.

A replica is an OS process of its own running the engine the Telegram bot runs
(`Database.open(postgresql://…)`, `create_engine`), driving its share of the conversations
(conversation i goes to replica i mod n) with the mix of `bench/turns.py`. SQLite runs the
same driver in one process. Every configuration gets a fresh database with the demo cases;
the replicas start, warm up on their conversations (`--warm` seconds: the pool's
connections open, statements prepared; not measured), say they are ready, and begin
together at a time the parent gives them.

Beside the turn rate it reports where the time went: CPU seconds per durable turn of the
replica processes (their own `getrusage`) and of the PostgreSQL server (the postmaster, its
live backends and the backends it has reaped, from /proc), the writes each replica sent to
the server per turn (asyncpg sends a statement's messages in one write and waits for the
answer: about one round trip each), and how busy the machine's cores were (/proc/stat),
so what other programs took is visible.

PostgreSQL is a throwaway server started here (tests/pg_server.py, Debian's PostgreSQL 15)
with its durable defaults: `fsync = on`, `synchronous_commit = on`, `full_page_writes = on`;
the settings are printed. Usage:

    python bench/replicas.py [--conversations 200] [--seconds 5] [--rounds 3]
                             [--replicas 1,2,4] [--rates 230,2000]
                             [--open-replicas 1,2] [--stored 1000] [--open-seconds 5]
                             [--warm 1] [--commit-delay 0]

The machines this runs on are small and noisy, and the replicas, the server and anything
else running share their cores: compare the ratios printed by one run, not raw figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from turns import MIX, seed, serving  # noqa: E402

from bot.assembly import create_engine  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.engine import ConversationKey, TurnInput  # noqa: E402
from bot.logs import setup_logging  # noqa: E402
from bot.storage.database import Database  # noqa: E402
from tests.pg_server import PgServer  # noqa: E402

START_AFTER = 0.3  # seconds between "go" and the common start (the replicas read it first)
TICK = os.sysconf("SC_CLK_TCK")
SHOWN_SETTINGS = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "commit_delay",
    "commit_siblings",
    "track_wal_io_timing",
    "shared_buffers",
    "max_connections",
)


# --- a replica (a process of its own) -------------------------------------------------


class _Sends:
    """Writes to the server's socket in this process: asyncpg writes a statement's
    messages at once and then waits for the answer, so about one round trip each."""

    count = 0

    @classmethod
    def install(cls) -> None:
        from asyncio import selector_events

        transport = selector_events._SelectorSocketTransport
        # Python 3.11's writelines joins and calls write; newer ones have their own.
        for name in ("write", "writelines"):
            if name in vars(transport):
                setattr(transport, name, cls._counted(getattr(transport, name)))

    @classmethod
    def _counted(cls, method: Callable[..., None]) -> Callable[..., None]:
        def counted(self: object, data: Any) -> None:
            cls.count += 1
            method(self, data)

        return counted


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def replica(spec: dict[str, Any]) -> None:
    """Run one replica's share: `spec` says the database, the mode ("closed": its
    conversations turn by turn; "open": Poisson arrivals at its share of the rate) and the
    share (index, of)."""
    location: Path | str = spec["db"] if "://" in spec["db"] else Path(spec["db"])
    settings = load_settings(db_path=location, load_demo_cases=False)
    clock = FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz)
    _Sends.install()
    db = await Database.open(location)
    engine = await create_engine(settings, db, clock)
    index, of = spec["index"], spec["of"]
    mine = range(index, spec["conversations" if spec["mode"] == "closed" else "stored"], of)
    steps = {user: user % len(MIX) for user in mine}  # as in bench/turns.py: mixed points

    async def turn(user: int) -> None:
        kind, value = MIX[steps[user] % len(MIX)]
        steps[user] += 1
        key = ConversationKey("bench", f"user{user}")
        await engine.handle(TurnInput(key, clock.now(), **{kind: value}))

    async def converse(user: int, deadline: float, latencies: list[float]) -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            await turn(user)
            latencies.append(time.perf_counter() - began)

    # Warm up before the measure: the pool's connections opened, their statements prepared
    # and the caches filled, as in a replica that has been serving a while.
    warm_until = time.perf_counter() + spec["warm"]
    await asyncio.gather(*(converse(user, warm_until, []) for user in mine[:100]))
    serving()
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    await asyncio.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    cpu, sends, commits = _cpu_self(), _Sends.count, db.commits
    retries = getattr(db, "retries", 0)  # PostgreSQL: transactions run again
    start = time.perf_counter()
    deadline = start + spec["seconds"]
    if spec["mode"] == "closed":
        await asyncio.gather(*(converse(user, deadline, latencies) for user in mine))
    else:
        rng = random.Random(17 + index)
        tasks: set[asyncio.Task[None]] = set()

        async def arrive(user: int, scheduled: float) -> None:
            await turn(user)
            latencies.append(time.perf_counter() - scheduled)

        at = start
        while True:
            at += rng.expovariate(spec["rate"] / of)
            if at > deadline:
                break
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(arrive(rng.choice(mine), at))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        while tasks:
            await asyncio.gather(*list(tasks))
    elapsed = time.perf_counter() - start
    done = {
        "elapsed": elapsed,
        "cpu": _cpu_self() - cpu,
        "sends": _Sends.count - sends,
        "commits": db.commits - commits,
        "retries": getattr(db, "retries", 0) - retries,
        "latencies": latencies,
    }
    print(json.dumps(done), flush=True)
    await db.close()


# --- the parent: servers, databases, replicas, figures ---------------------------------


class Config:
    """One way of running: `replicas` processes on `backend` ("SQLite" or "PG")."""

    def __init__(self, backend: str, replicas: int) -> None:
        self.backend, self.replicas = backend, replicas

    @property
    def name(self) -> str:
        return f"{self.backend} x{self.replicas}"


def _busy_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of the machine's cores so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def _server_cpu(server: PgServer | None) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster, the backends it has
    reaped (its children's times) and those alive now."""
    if server is None:
        return 0.0
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name
        pid, parent = int(entry.name), int(fields[1])
        if pid == postmaster:
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        elif parent == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / TICK


def _wal_syncs(server: PgServer | None) -> tuple[int, float]:
    """Times PostgreSQL has synced its WAL to disk so far, and the milliseconds it took
    (one sync may carry the commits of several transactions waiting for it: the group
    commit)."""
    if server is None:
        return 0, 0.0
    row = server.query(server.url("postgres"), "SELECT wal_sync, wal_sync_time FROM pg_stat_wal")
    return int(str(row[0][0])), float(str(row[0][1]))


async def _prepared(location: Path | str) -> None:
    """The schema and the demo cases in a fresh database, before the replicas start (so
    they do not all try to load the demo cases at once)."""
    settings = load_settings(db_path=location, load_demo_cases=True)
    db = await Database.open(location)
    await create_engine(settings, db, FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz))
    await db.close()


async def _seeded_pg(server: PgServer, url: str, stored: int) -> None:
    """`stored` conversations in a PostgreSQL database: one real row, copied (as
    bench/turns.py's `seed` does on SQLite)."""
    settings = load_settings(db_path=url, load_demo_cases=True)
    clock = FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz)
    db = await Database.open(url)
    engine = await create_engine(settings, db, clock)
    await engine.handle(TurnInput(ConversationKey("bench", "template"), clock.now(), text="/start"))
    await db.close()
    server.query(
        url,
        "INSERT INTO conversations (channel, user_id, state, slots, offered, version,"
        " updated_at, trail) SELECT channel, 'user' || i, state, slots, offered, version,"
        f" updated_at, trail FROM generate_series(0, {stored - 1}) AS i, conversations"
        " WHERE channel = 'bench' AND user_id = 'template'",
    )


def _durable(server: PgServer | None, location: str, replicas: int) -> list[int]:
    """Turns committed with their writes (input refused as bad writes nothing), by the
    replica whose share the conversation is."""
    sql = (
        "SELECT user_id, COUNT(*) FROM turns WHERE channel = 'bench'"
        " AND user_id <> 'template' GROUP BY user_id"
    )
    if server is not None:
        rows = server.query(location, sql)
    else:
        conn = sqlite3.connect(location)
        try:
            rows = conn.execute(sql).fetchall()
        finally:
            conn.close()
    each = [0] * replicas
    for user, count in rows:
        each[int(str(user).removeprefix("user")) % replicas] += int(str(count))
    return each


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000 if ordered else float("nan")


def run_replicas(
    server: PgServer | None, location: str, replicas: int, spec: dict[str, Any]
) -> dict[str, Any]:
    """Start `replicas` processes on `location`, let them run together, and gather what
    they measured with the server's and the machine's CPU over the same window."""
    first, (syncs, sync_ms) = _durable(server, location, replicas), _wal_syncs(server)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--replica",
                json.dumps({**spec, "db": location, "index": k, "of": replicas}),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(replicas)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdin is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"a replica did not start: {line!r}")
        before = _durable(server, location, replicas)
        start_at = time.time() + START_AFTER
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{start_at}\n")
            proc.stdin.flush()
        time.sleep(max(0.0, start_at - time.time()))
        server_cpu, machine = _server_cpu(server), _busy_ticks()
        done = []
        for proc in procs:
            assert proc.stdout is not None
            done.append(json.loads(proc.stdout.readline()))
        busy, total = (now - then for now, then in zip(_busy_ticks(), machine, strict=True))
        for proc in procs:
            if proc.wait(timeout=120) != 0:
                raise RuntimeError(f"a replica failed with exit status {proc.returncode}")
        if server is not None:
            time.sleep(1.0)  # a backend reports its WAL syncs when its client has gone
        # Read once the replicas' backends have exited and been reaped (their CPU then in
        # the postmaster's children's times): read while they exit, one reaped between the
        # reading of the postmaster and its own would count nowhere (once seen below zero).
        server_cpu = _server_cpu(server) - server_cpu
        syncs_after, sync_ms_after = _wal_syncs(server)
        syncs, sync_ms = syncs_after - syncs, sync_ms_after - sync_ms
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    after = _durable(server, location, replicas)
    each = [a - b for a, b in zip(after, before, strict=True)]
    durable = sum(each)
    warm_and_measured = sum(after) - sum(first)
    elapsed = max(d["elapsed"] for d in done)
    replica_cpu = sum(d["cpu"] for d in done)
    latencies = [x for d in done for x in d["latencies"]]
    cores = os.cpu_count() or 1
    return {
        "turns_per_s": durable / elapsed,
        "each": [n / d["elapsed"] for n, d in zip(each, done, strict=True)],
        "achieved": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
        "turns_per_commit": durable / max(1, sum(d["commits"] for d in done)),
        "replica_ms": replica_cpu * 1000 / max(durable, 1),
        "server_ms": server_cpu * 1000 / max(durable, 1),
        "sends": sum(d["sends"] for d in done) / max(durable, 1),
        "retries": 1000 * sum(d["retries"] for d in done) / max(durable, 1),
        # PostgreSQL's WAL syncs over the warm-up and the measure (a backend reports them
        # late); SQLite (synchronous = FULL) syncs its WAL once a commit
        "syncs": syncs / max(warm_and_measured, 1)
        if server is not None
        else sum(d["commits"] for d in done) / max(durable, 1),
        "sync_ms": sync_ms / syncs if syncs else float("nan"),  # a WAL sync, on average
        # WAL flushes are one at a time (PostgreSQL's WALWriteLock): the disk's share
        "sync_ms_per_turn": sync_ms / max(warm_and_measured, 1),
        "busy": cores * busy / max(total, 1),  # cores busy, all programs
        "others": cores * busy / max(total, 1) - (replica_cpu + server_cpu) / elapsed,
    }


def _fresh(server: PgServer | None, tmp: Path, name: str) -> str:
    location = server.database() if server is not None else str(tmp / f"{name}.db")
    asyncio.run(_prepared(location if server is not None else Path(location)))
    return location


def _line(label: str, res: dict[str, Any]) -> str:
    each = ", ".join(f"{x:.0f}" for x in res["each"])
    timed = f" ({res['sync_ms']:.1f} ms each)" if res["sync_ms"] == res["sync_ms"] else ""
    return (
        f"{label:<14} {res['turns_per_s']:7.0f} durable turns/s (replicas {each})"
        f"  p50 {res['p50_ms']:6.1f} ms  p99 {res['p99_ms']:7.1f} ms"
        f"  {res['turns_per_commit']:5.1f} turns/commit"
        f"  CPU ms/turn: replicas {res['replica_ms']:.2f} server {res['server_ms']:.2f}"
        f"  sends/turn {res['sends']:.1f}  syncs/turn {res['syncs']:.3f}{timed}"
        f"  retries/1k turns {res['retries']:.1f}"
        f"  cores busy {res['busy']:.2f} (others {res['others']:.2f})"
    )


def closed_loop(server: PgServer, tmp: Path, args: argparse.Namespace) -> None:
    configs = [Config("SQLite", 1), *(Config("PG", int(n)) for n in args.replicas.split(","))]
    spec = {
        "mode": "closed",
        "conversations": args.conversations,
        "seconds": args.seconds,
        "warm": args.warm,
    }
    print(
        f"closed loop: {args.conversations} conversations in all, conversation i on replica"
        f" i mod n, {args.seconds:g} s a measure, configurations rotating each round"
    )
    results: dict[str, list[dict[str, Any]]] = {c.name: [] for c in configs}
    for r in range(args.rounds):
        turn = r % len(configs)
        for c in configs[turn:] + configs[:turn]:
            pg = server if c.backend == "PG" else None
            location = _fresh(pg, tmp, f"closed{r}")
            res = run_replicas(pg, location, c.replicas, spec)
            results[c.name].append(res)
            print(f"round {r + 1}: " + _line(c.name, res), flush=True)
    lite = [res["turns_per_s"] for res in results["SQLite x1"]]
    one = [res["turns_per_s"] for res in results[configs[1].name]]
    print("medians (ratios are medians of the same round's ratios):")
    print(
        f"  {'':<12} {'turns/s':>8} {'/SQLite-1':>9} {'/PG-1':>6} {'p99 ms':>8}"
        f" {'replica CPU ms/turn':>20} {'server CPU ms/turn':>19} {'sends/turn':>11}"
        f" {'syncs/turn':>11} {'sync ms/turn':>13} {'retries/1k':>11} {'cores busy':>11}"
    )
    for c in configs:
        runs = results[c.name]
        rates = [res["turns_per_s"] for res in runs]

        def median(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(res[key] for res in runs)

        print(
            f"  {c.name:<12} {statistics.median(rates):8.0f}"
            f" {statistics.median(a / b for a, b in zip(rates, lite, strict=True)):9.2f}"
            f" {statistics.median(a / b for a, b in zip(rates, one, strict=True)):6.2f}"
            f" {median('p99_ms'):8.1f} {median('replica_ms'):20.2f}"
            f" {median('server_ms'):19.2f} {median('sends'):11.1f} {median('syncs'):11.3f}"
            f" {median('sync_ms_per_turn'):13.2f} {median('retries'):11.1f} {median('busy'):11.2f}"
        )
    print(
        "what the CPU per turn allows (turns/s; the network aside), and on PostgreSQL what its"
        " WAL syncs, one at a time, allow at this run's grouping of commits:"
    )
    cores = os.cpu_count() or 1
    for c in configs:
        runs = results[c.name]
        engine = statistics.median(res["replica_ms"] for res in runs)
        server_ms = statistics.median(res["server_ms"] for res in runs)
        if c.backend == "SQLite":  # one process: its event loop runs on one core
            print(f"  {c.name:<12} its one event loop on one core {1000 / engine:7.0f}")
            continue
        # ... and each replica's event loop on at most one core
        alone = min(cores * 1000 / (engine + server_ms), c.replicas * 1000 / engine)
        line = f"  {c.name:<12} alone on these {cores} cores {alone:7.0f}"
        if c.backend == "PG":
            line += (
                f"; the server alone on {cores} cores {cores * 1000 / server_ms:7.0f},"
                f" each machine of {cores} cores running replicas adds"
                f" {cores * 1000 / engine:6.0f}; the WAL syncs"
                f" {1000 / statistics.median(res['sync_ms_per_turn'] for res in runs):6.0f}"
            )
        print(line)


def open_loop(server: PgServer, tmp: Path, args: argparse.Namespace) -> None:
    configs = [Config("SQLite", 1), *(Config("PG", int(n)) for n in args.open_replicas.split(","))]
    print(
        f"open loop: {args.stored} stored conversations, Poisson arrivals at the offered rate"
        f" in all (each replica rate/n on its share), latency from the scheduled arrival,"
        f" {args.open_seconds:g} s a measure"
    )
    for rate in (float(x) for x in args.rates.split(",")):
        spec = {
            "mode": "open",
            "rate": rate,
            "stored": args.stored,
            "seconds": args.open_seconds,
            "warm": args.warm,
        }
        for c in configs:
            if c.backend == "PG":
                location = server.database()
                asyncio.run(_seeded_pg(server, location, args.stored))
                pg: PgServer | None = server
            else:
                location, pg = str(tmp / f"open{rate:.0f}.db"), None
                asyncio.run(seed(Path(location), args.stored))
            res = run_replicas(pg, location, c.replicas, spec)
            print(
                f"  offered {rate:6.0f}/s  {c.name:<10} achieved {res['achieved']:6.0f}/s"
                f"  p50 {res['p50_ms']:7.1f} ms  p99 {res['p99_ms']:7.1f} ms"
                f"  CPU ms/turn: replicas {res['replica_ms']:.2f} server {res['server_ms']:.2f}"
                f"  cores busy {res['busy']:.2f} (others {res['others']:.2f})",
                flush=True,
            )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--replica":
        setup_logging("ERROR")
        asyncio.run(replica(json.loads(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--warm", type=float, default=1.0, help="seconds each replica warms up, not measured"
    )
    parser.add_argument("--replicas", default="1,2,4", help="PostgreSQL replica counts")
    parser.add_argument("--rates", default="230,2000", help="open-loop offered turns/s in all")
    parser.add_argument("--open-replicas", default="1,2")
    parser.add_argument("--stored", type=int, default=1000)
    parser.add_argument("--open-seconds", type=float, default=5.0)
    parser.add_argument(
        "--commit-delay",
        type=int,
        default=0,
        help="PostgreSQL's commit_delay in microseconds (0, its default: no delay)",
    )
    parser.add_argument("--no-open-loop", action="store_true")
    parser.add_argument("--no-closed-loop", action="store_true")
    args = parser.parse_args()
    setup_logging("ERROR")
    server = PgServer(durable=True)
    server.start()
    try:
        # How long WAL syncs take (instruments, changes nothing of durability); a commit
        # delay, when asked for, lets more commits share one sync (still durable).
        server.sql("ALTER SYSTEM SET track_wal_io_timing = on")
        server.sql(f"ALTER SYSTEM SET commit_delay = {args.commit_delay}")
        server.sql("SELECT pg_reload_conf()")
        time.sleep(0.5)
        settings = server.query(
            server.url("postgres"),
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(ARRAY["
            + ", ".join(f"'{name}'" for name in SHOWN_SETTINGS)
            + "]) ORDER BY name",
        )
        version = server.query(server.url("postgres"), "SHOW server_version")[0][0]
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f},"
            f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version},"
            f" PostgreSQL {version}"
        )
        print("PostgreSQL: " + ", ".join(f"{name}={value}" for name, value in settings))
        with tempfile.TemporaryDirectory() as tmp:
            if not args.no_closed_loop:
                closed_loop(server, Path(tmp), args)
            if not args.no_open_loop:
                open_loop(server, Path(tmp), args)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
