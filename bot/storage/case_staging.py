"""The scratch store of a case import: every validated row of the file is staged here first.

A private temporary SQLite database (SQLite's own: created on disk in the temporary folder
and deleted when closed), never the live one. Staging is what lets `tierline cases import`
check a file of millions of rows with memory that does not grow with the file: rows go to
disk as they are read, a receipt number repeated anywhere in the file is found by the
primary key (with the line it first appeared on), and the live database is written only
once the whole file is known to be good, in receipt order, chunk by chunk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

from flows.case_records import COLUMNS, CaseRecord

Row = tuple[object, ...]  # a case as stored: `CaseRecord.db_params()`

_BUFFER = 1000  # rows per executemany while staging
_CACHE_KIB = 8 * 1024  # page cache of the scratch database: bounded, whatever the file size

_INSERT = (
    "INSERT INTO staged (line, "
    + ", ".join(COLUMNS)
    + ") VALUES ("
    + ", ".join("?" * (len(COLUMNS) + 1))
    + ") ON CONFLICT (receipt_number) DO NOTHING"
)
_SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM staged"


class CaseStaging:
    """Stage validated rows, find repeated receipts, then hand the rows back in chunks.
    Use as a context manager (the scratch file is deleted on close)."""

    def __init__(self) -> None:
        # "" is SQLite's private temporary database: a file nobody else can open.
        # Used from one thread at a time (the check pass may run in a worker thread).
        self._conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = OFF")  # scratch: nothing to recover
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        self._conn.execute(
            "CREATE TABLE staged (receipt_number TEXT PRIMARY KEY, line INTEGER NOT NULL, "
            + ", ".join(f"{c}" for c in COLUMNS[1:])
            + ") WITHOUT ROWID"
        )
        self._conn.execute("BEGIN")
        self._buffer: list[tuple[int, Row]] = []
        self._repeats: list[tuple[int, int]] = []
        self.count = 0

    def __enter__(self) -> CaseStaging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def add(self, line: int, record: CaseRecord) -> list[tuple[int, int]]:
        """Stage `record` read at `line`. Returns the repeats found so far as (line, first
        line) pairs (rows are staged in batches, so a repeat is reported a little later
        than it is read; `flush` reports the last ones)."""
        self._buffer.append((line, record.db_params()))
        if len(self._buffer) >= _BUFFER:
            return self.flush()
        return []

    def flush(self) -> list[tuple[int, int]]:
        """Write the buffered rows; return the repeated receipts among them as (line,
        line of the first occurrence)."""
        buffer, self._buffer = self._buffer, []
        if not buffer:
            return []
        cursor = self._conn.executemany(_INSERT, [(line, *row) for line, row in buffer])
        staged = cursor.rowcount
        self.count += staged
        if staged == len(buffer):
            return []
        repeats = []
        for line, row in buffer:  # rare: find which rows were already there
            first = self._conn.execute(
                "SELECT line FROM staged WHERE receipt_number = ?", (row[0],)
            ).fetchone()[0]
            if first != line:
                repeats.append((line, first))
        return repeats

    def chunks(self, size: int) -> Iterator[Sequence[Row]]:
        """The staged rows in receipt order, `size` at a time (memory: one chunk)."""
        self.flush()
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")
        after = ""
        while True:
            rows = self._conn.execute(
                _SELECT + " WHERE receipt_number > ? ORDER BY receipt_number LIMIT ?",
                (after, size),
            ).fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1][0]
