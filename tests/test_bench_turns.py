"""`bench/turns.py` and `bench/open_anatomy.py` run end to end with tiny knobs and print
their figures. Nothing here is timed: the figures are the benchmarks' to report
(docs/performance.md)."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.conftest import run_bench

NUMBER = r"[\d.]+"


def test_the_turns_bench_prints_the_ratio_to_the_limit_and_the_open_loop() -> None:
    out = run_bench(
        "turns.py",
        *("--conversations", "20", "--seconds", "0.3", "--rounds", "1"),
        *("--rates", "200", "--stored", "50", "--open-seconds", "0.3"),
    )
    assert re.search(rf"ratio to the batched limit \(b\)/\(c\) {NUMBER}", out), out
    assert re.search(rf"turns/commit\s+{NUMBER} writes/turn", out.replace("  ", " ")), out
    assert "open loop, 50 stored conversations" in out, out
    line = rf"offered\s+200/s\s+achieved\s+{NUMBER}/s\s+p50\s+{NUMBER} ms\s+p99\s+{NUMBER} ms"
    assert re.search(line, out), out
    assert re.search(rf"WAL up to\s+{NUMBER} MiB", out), out
    assert re.search(rf"floor \(plain sqlite3\) p50\s+{NUMBER} ms", out), out


async def test_settling_load_is_served_first_and_not_measured(tmp_path: Path) -> None:
    from bench.turns import limit_open_loop, open_loop, poisson_arrivals, seed

    path = tmp_path / "open.db"
    await seed(path, 30)
    settle, measured = poisson_arrivals(300, 0.3, 30), poisson_arrivals(300, 0.2, 30)

    engine = await open_loop(path, 300, 0.2, 30, settle=0.3)
    assert engine["turns"] == len(measured)

    def transcribed() -> int:
        with closing(sqlite3.connect(path)) as conn:
            return int(
                conn.execute("SELECT count(*) FROM turns WHERE value = '/menu'").fetchone()[0]
            )

    before = transcribed()
    floor = limit_open_loop(path, 300, 0.2, 30, 0.3)
    assert floor["turns"] == len(measured)
    # the floor transcribes every arrival it serves: the settling ones were served too
    assert transcribed() - before == len(settle) + len(measured)


def test_arrivals_shared_between_processes_split_the_conversations() -> None:
    from bench.turns import poisson_arrivals

    alone = poisson_arrivals(1000, 2.0, 30)
    assert {c for _, c in alone} == set(range(30))
    first, second = poisson_arrivals(500, 2.0, 30, (0, 2)), poisson_arrivals(500, 2.0, 30, (1, 2))
    assert {c for _, c in first} == set(range(0, 30, 2))
    assert {c for _, c in second} == set(range(1, 30, 2))
    assert [at for at, _ in first] != [at for at, _ in second]  # a stream of its own each


def test_the_split_store_bench_merges_every_process_turns() -> None:
    from bench.turns import poisson_arrivals

    out = run_bench(
        "split_store.py",
        *("--rate", "300", "--seconds", "0.4", "--settle", "0.2", "--stored", "20"),
        *("--rounds", "1", "--processes", "1,2"),
    )

    def turns(processes: int) -> int:
        found = re.search(rf"round 1: {processes} process\(es\)[^:]*: (\d+) turns", out)
        assert found is not None, out
        return int(found.group(1))

    assert turns(1) == len(poisson_arrivals(300, 0.4, 20))
    both = sum(len(poisson_arrivals(150, 0.4, 20, (i, 2))) for i in range(2))
    assert turns(2) == both, out
    assert re.search(rf"2 process\(es\), a SQLite file each: .*p99\s+{NUMBER} ms", out), out
    assert re.search(rf"share of a core: {NUMBER}, {NUMBER}$", out, re.M), out

    shared = run_bench(
        "split_store.py",
        *("--rate", "300", "--seconds", "0.4", "--settle", "0.2", "--stored", "20"),
        *("--rounds", "1", "--processes", "2", "--shared"),
    )
    assert f"2 process(es), one shared SQLite file: {both} turns" in shared, shared


def test_the_open_loop_anatomy_splits_the_commit_round_trip() -> None:
    out = run_bench(
        "open_anatomy.py",
        *("--rates", "200", "--stored", "50", "--seconds", "0.3", "--hand-overs", "200"),
    )
    assert re.search(rf"hand-over to a thread and back: {NUMBER} us", out), out
    assert re.search(rf"offered\s+200/s: p50\s+{NUMBER} ms\s+p99\s+{NUMBER} ms", out), out
    assert re.search(r"loop thread\s+\d+% of a core,\s+\d+ us a turn", out), out
    # the writer's thread is timed: the commit's round trip comes in its three parts
    parts = ("to the writer", "COMMIT", "back to the loop")
    for part in parts:
        assert re.search(rf"{part} {NUMBER} / {NUMBER}", out), out
    assert re.search(r"answered by nothing: loop thread\s+\d+% of a core,\s+\d+ us an arrival", out)


def test_the_cpu_bench_splits_the_cost_per_turn_and_per_commit() -> None:
    out = run_bench("cpu_turn.py", "--conversations", "1,4", "--turns", "6")

    def turns_a_commit(at_once: int) -> float:
        line = rf"\b{at_once} at once: {NUMBER} us main-thread CPU per turn;.*; ({NUMBER}) turns a"
        found = re.search(line, out)
        assert found is not None, out
        return float(found.group(1))

    # one conversation at a time commits each turn alone; four at once share commits
    assert turns_a_commit(1) == 1.0, out
    assert 1.0 < turns_a_commit(4) <= 4.0, out
    assert re.search(r"fit: -?\d+ us a turn \+ -?\d+ us a commit", out), out


def test_the_split_recovers_a_cost_per_turn_and_per_commit() -> None:
    from bench.cpu_turn import per_turn_and_commit

    # 70 us a turn and 230 us a commit, at 1, 2, 5 and 200 turns a commit
    points = [(70e-6 + 230e-6 / batch, batch) for batch in (1, 2, 5, 200)]
    turn, commit = per_turn_and_commit(points)
    assert abs(turn - 70e-6) < 1e-9 and abs(commit - 230e-6) < 1e-9
