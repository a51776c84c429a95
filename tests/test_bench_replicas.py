"""`bench/replicas.py` runs end to end with tiny knobs: replicas on a PostgreSQL server of
its own and SQLite in one process, and prints sane figures. Nothing here is timed: the
figures are the benchmark's to report (docs/performance.md). The bench opens both backends
whichever the test run is on."""

from __future__ import annotations

import re

from tests.conftest import run_bench
from tests.pg_server import PG_BIN, missing

NUMBER = r"([\d.]+|nan)"


def _figure(pattern: str, text: str) -> list[float]:
    found = re.search(pattern, text, re.M)
    assert found, f"{pattern!r} not in:\n{text}"
    return [float(x) for x in found.groups()]


def test_the_replicas_bench_runs_each_configuration_and_prints_sane_figures() -> None:
    if not (PG_BIN / "initdb").exists():
        missing(f"no PostgreSQL server binaries in {PG_BIN}")
    out = run_bench(
        "replicas.py",
        *("--rounds", "1", "--replicas", "1,2", "--conversations", "4", "--seconds", "0.5"),
        *("--rates", "40", "--open-replicas", "1,2", "--stored", "20"),
        *("--open-seconds", "1"),
    )
    # Durable settings, said as they are.
    for setting in ("fsync=on", "synchronous_commit=on", "full_page_writes=on"):
        assert setting in out, out
    for name, replicas in (("SQLite x1", 1), ("PG x1", 1), ("PG x2", 2)):
        label = re.escape(name)
        line = re.search(
            rf"^round 1: {label}\s+\d+ durable turns/s \(replicas ([\d, ]+)\)", out, re.M
        )
        assert line, out
        shares = [int(x) for x in line[1].split(", ")]
        # Every replica made durable turns of its own share of the conversations.
        assert len(shares) == replicas and all(share > 0 for share in shares), line[0]
        p50, p99 = _figure(rf"^round 1: {label}.*p50\s+{NUMBER} ms\s+p99\s+{NUMBER} ms", out)
        assert 0 < p50 <= p99, line[0]
        per_commit, engine_ms, server_ms, sends, syncs = _figure(
            rf"^round 1: {label}.*\s{NUMBER} turns/commit.*replicas {NUMBER} server {NUMBER}"
            rf".*sends/turn {NUMBER}  syncs/turn {NUMBER}",
            out,
        )
        assert per_commit >= 1 and engine_ms > 0 and 0 < syncs <= 2, line[0]
        if name.startswith("PG"):
            # Each turn is its own transaction on PostgreSQL, a few statements a turn.
            assert 1 <= sends < 50 and server_ms > 0, line[0]
            assert re.search(rf"^  {label}\s+alone on these \d+ cores\s+\d+; the server", out, re.M)
        else:
            assert sends == 0 and server_ms == 0, line[0]
        ratios = _figure(rf"^  {label}\s+\d+\s+{NUMBER}\s+{NUMBER}\s", out)
        assert all(r > 0 for r in ratios), out
    assert re.search(r"^  SQLite x1\s+\d+\s+1\.00\s", out, re.M), out
    assert re.search(r"^  PG x1\s+\d+\s+[\d.]+\s+1\.00\s", out, re.M), out
    for name in ("SQLite x1", "PG x1", "PG x2"):
        achieved, p50, p99 = _figure(
            rf"^  offered\s+40/s\s+{re.escape(name)}\s+achieved\s+{NUMBER}/s"
            rf"\s+p50\s+{NUMBER} ms\s+p99\s+{NUMBER} ms",
            out,
        )
        assert achieved > 0 and 0 < p50 <= p99, out
