"""Console cold start: time from launching `python -m bot console --jsonl` to its first
JSON reply, against `python -c "import pydantic, aiosqlite, transitions, holidays"` (the
libraries it cannot start without), measured side by side in one run.

    python bench/startup.py [--rounds 15]

Rounds alternate the two commands so that machine noise hits both alike; the figure that
matters is the ratio of the medians (printed last, and recorded in docs/performance.md).
Both sides run from compiled bytecode, as an installed package does (the libraries were
compiled when pip installed them; the first, unmeasured run compiles Tierline's own
modules even where PYTHONDONTWRITEBYTECODE is set in the environment).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = [sys.executable, "-c", "import pydantic, aiosqlite, transitions, holidays"]
# The same imports plus one trivial pydantic model, defined and validated once: the least
# any program that keeps its configuration in pydantic models pays before it can answer
# (`import pydantic` alone is lazy; the first model imports the rest of pydantic).
FLOOR = [
    sys.executable,
    "-c",
    "import pydantic, aiosqlite, transitions, holidays\n"
    "from pydantic import BaseModel\n"
    "class M(BaseModel):\n    x: int\n"
    "M(x=1)",
]


def console_first_reply(db: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TIERLINE_LOAD_DEMO_CASES": "false"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "--jsonl", "--db", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"/start\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.stdin.close()
    proc.wait(timeout=30)
    if not line.startswith(b"{"):
        raise SystemExit(f"the console did not answer: {line!r}")
    return elapsed


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "startup.db"
        console_first_reply(db)  # create and migrate the database once
        consoles, imports, floors = [], [], []
        for _ in range(args.rounds):
            imports.append(timed(BASELINE))
            floors.append(timed(FLOOR))
            consoles.append(console_first_reply(db))
    c, b, f = statistics.median(consoles), statistics.median(imports), statistics.median(floors)
    print(
        f"console --jsonl, first reply: median {c * 1000:.0f} ms "
        f"(min {min(consoles) * 1000:.0f}, max {max(consoles) * 1000:.0f})"
    )
    print(
        f"import pydantic, aiosqlite, transitions, holidays: median {b * 1000:.0f} ms "
        f"(min {min(imports) * 1000:.0f}, max {max(imports) * 1000:.0f})"
    )
    print(
        f"the same imports and one pydantic model: median {f * 1000:.0f} ms "
        f"(min {min(floors) * 1000:.0f}, max {max(floors) * 1000:.0f})"
    )
    print(f"ratio (console / imports): {c / b:.2f}")
    print(f"ratio (imports and one model / imports): {f / b:.2f}")


if __name__ == "__main__":
    main()
