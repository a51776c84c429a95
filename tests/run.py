"""The whole test suite on both backends, as CI runs it: `python -m tests.run [PYTEST ARGS]`.

Every test runs on SQLite (`python -m pytest`) while, in a second process at the same time,
every test that opens a database runs again on PostgreSQL
(`TIERLINE_TEST_BACKEND=postgresql python -m pytest -m database`, on a throwaway server the
tests start themselves: tests/pg_server.py). Each run is serial and mostly waits on its
subprocesses, servers and disk, so the two share a small machine's two cores: ~6 minutes
together here, against ~12 one after the other.

The SQLite run prints as it goes; the PostgreSQL run's output follows it. Arguments are
given to both runs. The exit status is the SQLite run's when it failed, else the
PostgreSQL run's (pytest's 5, "no test collected", fails like any other).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile


def main(args: list[str]) -> int:
    with tempfile.TemporaryFile("w+") as postgres_log:
        postgres = subprocess.Popen(
            # No cache plugin: the two runs would write one .pytest_cache at once.
            [sys.executable, "-m", "pytest", "-m", "database", "-p", "no:cacheprovider", *args],
            env={**os.environ, "TIERLINE_TEST_BACKEND": "postgresql"},
            stdout=postgres_log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            sqlite = subprocess.run([sys.executable, "-m", "pytest", *args]).returncode
        finally:
            on_postgres = postgres.wait()
        postgres_log.seek(0)
        print("\n# The tests that open a database, again on PostgreSQL\n", flush=True)
        sys.stdout.write(postgres_log.read())
        sys.stdout.flush()
    return sqlite or on_postgres


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
