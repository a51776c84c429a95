"""`bench/turns.py` and `bench/open_anatomy.py` run end to end with tiny knobs and print
their figures. Nothing here is timed: the figures are the benchmarks' to report
(docs/performance.md)."""

from __future__ import annotations

import re

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
