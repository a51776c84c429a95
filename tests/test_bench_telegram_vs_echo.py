"""`bench/telegram_vs_echo.py` runs end to end with tiny knobs and prints its table.
Nothing here is timed: the figures are the benchmark's to report (docs/performance.md)."""

from __future__ import annotations

import re

from tests.conftest import run_bench


def test_the_telegram_bench_runs_both_bots_both_ways_and_prints_its_table() -> None:
    out = run_bench(
        "telegram_vs_echo.py",
        *("--rounds", "1", "--chats", "2", "--updates", "2", "--warm-up", "1"),
    )
    assert "2 chats x 2 updates" in out, out
    number = r"\s+(?:[\d.]+|nan)"  # CPU time comes in ticks: a tiny run may take none
    for limiter in ("shipped", "off"):
        for bot in ("tierline", "echo"):
            assert re.search(rf"^  round 1 {limiter}\s+{bot}\s+[\d.]+ updates/s", out, re.M), out
            assert re.search(rf"^  {limiter}\s+{bot}{number * 6}$", out, re.M), out
        assert re.search(rf"^  {limiter}\s+ratio{number * 6}$", out, re.M), out
    assert "note:" not in out, out  # one message answered each update
