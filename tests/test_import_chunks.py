"""A large `tierline cases import` next to a running engine: no turn is refused while it
saves, its memory does not grow with the file, and a bad row or a stop part-way is said
plainly.

`TIERLINE_SOAK_ROWS` sets the size of the large file (default 100,000, which CI runs;
1,000,000 is the soak the reliability notes quote). The figures (turn latency during the
import, peak memory) are printed with `-s`, never asserted as times.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from pathlib import Path

from bot.engine import Engine, TurnInput
from bot.engine.engine import TurnNotSaved
from bot.model import ConversationKey
from tests.conftest import ROOT, run_cli
from tests.pg_server import run_sql, run_sql_beside

ROWS = int(os.environ.get("TIERLINE_SOAK_ROWS", "100000"))
HEADER = "receipt_number,form_type,status_title,status_date,zip_code,biometrics_reschedules\n"

# Runs one command and prints the peak resident memory of that one child, in KiB, last.
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "sys.stdout.flush()\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)\n"
    "sys.exit(code)\n"
)


def _case_file(path: Path, rows: int, *, prefix: str = "LIN23", bad_at: int | None = None) -> Path:
    with path.open("w") as fh:
        fh.write(HEADER)
        for n in range(rows):
            date = "2026-13-01" if n == bad_at else "2026-05-01"
            fh.write(f"{prefix}{n:08d},I-485,Case Remains Pending,{date},10001,0\n")
    return path


def _import_argv(csv: Path, db: Path | str) -> list[str]:
    command = [sys.executable, "-m", "bot", "cases", "import", str(csv), "--db", str(db)]
    return [sys.executable, "-c", PEAK_RSS, *command]


def _count(db: Path | str, sql: str = "SELECT COUNT(*) FROM cases") -> int:
    return int(str(run_sql(db, sql)[0][0]))


async def _count_beside(db: Path | str, sql: str = "SELECT COUNT(*) FROM cases") -> int:
    """`_count` while the engine runs on this loop: in a thread (`run_sql_beside`)."""
    return int(str((await run_sql_beside(db, sql))[0][0]))


async def test_a_large_import_refuses_no_turn_and_keeps_memory_flat(
    engine: Engine, tmp_path: Path
) -> None:
    db_path = engine.services.ports.db.location
    before = _count(db_path)  # the demo cases
    big = _case_file(tmp_path / "big.csv", ROWS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        *_import_argv(big, db_path),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output = asyncio.ensure_future(proc.communicate())

    refused: list[str] = []
    latencies: list[float] = []
    during_save = 0  # turns (sampled by tens) committed while the import was saving

    async def applicant(n: int) -> None:
        nonlocal during_save
        key = ConversationKey("console", f"load-{n}")
        inputs = ["/start", "EAC2190000001", "/menu"]
        i = 0
        while not output.done():
            started = time.perf_counter()
            try:
                await engine.handle(TurnInput(key, engine.now(), text=inputs[i % len(inputs)]))
            except TurnNotSaved as exc:
                refused.append(str(exc))
            latencies.append(time.perf_counter() - started)
            i += 1
            if i % 10 == 0:  # counting a large table costs: sample it
                saved = await _count_beside(db_path) - before
                if 0 < saved < ROWS:
                    during_save += 10

    await asyncio.gather(*(applicant(n) for n in range(8)))
    stdout, stderr = await output
    assert proc.returncode == 0, stderr.decode()
    assert f"imported {ROWS} case(s)".encode() in stdout
    assert _count(db_path) == before + ROWS

    assert refused == []
    assert during_save > 0, "no turn ran while the import was saving"
    latencies.sort()
    large_peak = int(stdout.decode().split()[-1])

    # The same import at a quarter of the size: peak memory must not follow the row count.
    small = _case_file(tmp_path / "small.csv", ROWS // 4, prefix="SRC23")
    proc_small = await asyncio.create_subprocess_exec(
        *_import_argv(small, tmp_path / "small.db"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out_small, err_small = await proc_small.communicate()
    assert proc_small.returncode == 0, err_small.decode()
    small_peak = int(out_small.decode().split()[-1])
    print(
        f"\n{ROWS} rows imported beside {len(latencies)} turns ({during_save} while saving): "
        f"turn latency median {latencies[len(latencies) // 2] * 1000:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms; peak RSS {small_peak // 1024} MiB at "
        f"{ROWS // 4} rows, {large_peak // 1024} MiB at {ROWS} rows"
    )
    # Holding the rows in memory cost ~600 bytes a row: 4x the rows would add ~45 MiB at
    # the default size, far above this bound.
    assert large_peak < small_peak * 1.25, (small_peak, large_peak)


def test_a_bad_row_at_the_end_of_a_large_file_saves_nothing(tmp_path: Path) -> None:
    rows = 20_000
    bad = _case_file(tmp_path / "bad.csv", rows, bad_at=rows - 1)
    db = tmp_path / "t.db"
    proc = run_cli("cases", "import", str(bad), "--db", str(db))
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert f"{bad}:{rows + 1}: status_date '2026-13-01' is not a date YYYY-MM-DD" in err
    assert "1 bad row(s)" in err and "nothing was imported" in err
    assert _count(db, "SELECT COUNT(*) FROM cases WHERE receipt_number LIKE 'LIN23%'") == 0


def test_a_receipt_repeated_far_apart_is_reported_with_its_first_line(tmp_path: Path) -> None:
    path = _case_file(tmp_path / "dup.csv", 5000)
    with path.open("a") as fh:
        fh.write("LIN2300000007,I-130,Case Was Approved,2026-06-01,,0\n")
    proc = run_cli("cases", "import", str(path), "--db", str(tmp_path / "t.db"))
    assert proc.returncode == 1
    assert f"{path}:5002: receipt_number repeats line 9" in proc.stderr.decode()


def test_many_bad_rows_are_counted_and_the_first_are_shown_in_line_order(tmp_path: Path) -> None:
    path = tmp_path / "all-bad.csv"
    with path.open("w") as fh:
        fh.write(HEADER)
        for n in range(3000):
            fh.write(f"LIN23{n:08d},I-485,Pending,not-a-date,,0\n")
    proc = run_cli("cases", "import", str(path), "--db", str(tmp_path / "t.db"))
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    shown = [line for line in lines if line.startswith(f"{path}:")]
    assert [int(line.split(":")[1]) for line in shown] == list(range(2, 52))
    assert "... and 2950 more bad row(s)" in lines
    assert "3000 bad row(s)" in lines[-1]


def test_an_import_stopped_part_way_says_so_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    path = _case_file(tmp_path / "cases.csv", 10_000)
    assert run_cli("cases", "list", "--db", str(db), "--limit", "1").returncode == 0  # migrated
    with sqlite3.connect(db) as conn:  # the database refuses one row in the middle
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON cases WHEN NEW.receipt_number ="
            " 'LIN2300006000' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    proc = run_cli("cases", "import", str(path), "--db", str(db), "--chunk-rows", "1000")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "disk trouble" in err
    assert "6000 of 10000 row(s) were saved" in err and "run the same import again" in err
    assert _count(db, "SELECT COUNT(*) FROM cases WHERE receipt_number LIKE 'LIN23%'") == 6000

    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER refuse")
    again = run_cli("cases", "import", str(path), "--db", str(db), "--chunk-rows", "1000")
    assert again.returncode == 0, again.stderr.decode()
    assert _count(db, "SELECT COUNT(*) FROM cases WHERE receipt_number LIKE 'LIN23%'") == 10_000


def test_chunk_rows_is_checked() -> None:
    proc = run_cli("cases", "import", "x.csv", "--chunk-rows", "0")
    assert proc.returncode == 2
    assert b"not a number of rows from 1 to 50000" in proc.stderr
