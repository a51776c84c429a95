"""The database: one SQLite file in WAL mode, opened through aiosqlite.

Two connections: a reader for lookups, which sees only committed data, and a writer owned
by a group-commit loop. Reads are coalesced too: every read requested while the event loop
is busy runs in one hop to the reader's thread (a hop per statement would cost a thread
wake-up each, which is most of a turn's cost under load).

Callers hand the writer a list of `Write`s and await the result; the loop gathers what
is waiting, applies each caller's writes in a savepoint of one transaction, commits once,
and only then wakes the callers. A commit is therefore shared by many turns (the
expensive part of a durable write is the sync to disk), yet every turn is committed
before its reply is released.

A `Write` may state how many rows it must touch (`expect_rows`). When it touches another
number, the caller's savepoint is rolled back and the caller gets `Conflict`: that is how
capacity checks and optimistic version checks stay atomic without long-held locks.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.migrations import MIGRATIONS, latest_version

log = logging.getLogger(__name__)
# aiosqlite logs every statement it runs at DEBUG with its parameters (phone numbers,
# receipts, names): those lines never leave the library, whatever the log level.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

Params = Sequence[Any] | Mapping[str, Any]
MAX_BATCH = 512


class StorageError(Exception):
    """The database cannot be opened, migrated or written; the message says why."""


class Conflict(Exception):
    """A write's precondition did not hold (a slot filled up, a row changed meanwhile).
    Nothing of that caller's writes was kept; read again and decide again."""


@dataclass(frozen=True, slots=True)
class Write:
    """One SQL statement to run in the caller's atomic group of writes."""

    sql: str
    params: Params = ()
    expect_rows: int | None = None


@dataclass(slots=True)
class _Pending:
    writes: Sequence[Write]
    done: asyncio.Future[list[int]]


@dataclass(slots=True)
class _Read:
    sql: str
    params: Params
    many: bool
    done: asyncio.Future[Any]


class Database:
    """An open Tierline database. Use `await Database.open(path)`, then `close()`."""

    def __init__(self, path: Path, reader: aiosqlite.Connection, writer: aiosqlite.Connection):
        self.path = path
        self._reader = reader
        self._writer = writer
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._loop_task: asyncio.Task[None] | None = None
        self._reads: list[_Read] = []
        self._read_tasks: set[asyncio.Task[None]] = set()  # held so they are not collected
        self.commits = 0  # how many transactions were committed (for benchmarks)

    # ---- opening and closing ------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        path = Path(path)
        try:
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the folder for the database {path}: {exc.strerror}"
            ) from None
        writer = await _connect(path)
        try:
            await _migrate(writer, path)
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            raise
        db = cls(path, reader, writer)
        db._loop_task = asyncio.create_task(db._commit_loop(), name="tierline-group-commit")
        return db

    async def close(self) -> None:
        if self._loop_task is not None:
            await self._queue.put(None)
            await self._loop_task
            self._loop_task = None
        await self._reader.close()
        await self._writer.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- reading ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._loop_task is None:
            raise StorageError("the database is closed")

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = await self._read(sql, params, many=False)
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = await self._read(sql, params, many=True)
        return rows

    async def _read(self, sql: str, params: Params, *, many: bool) -> Any:
        self._check_open()
        loop = asyncio.get_running_loop()
        read = _Read(sql, params, many, loop.create_future())
        if not self._reads:
            loop.call_soon(self._flush_reads)
        self._reads.append(read)
        return await read.done

    def _flush_reads(self) -> None:
        batch, self._reads = self._reads, []
        task = asyncio.ensure_future(self._run_reads(batch))
        self._read_tasks.add(task)
        task.add_done_callback(self._read_tasks.discard)

    async def _run_reads(self, batch: list[_Read]) -> None:
        try:
            outcomes = await self._reader._execute(_read_batch, self._reader._conn, batch)
        except (sqlite3.Error, ValueError) as exc:  # ValueError: the connection was closed
            outcomes = [StorageError(f"database read failed: {exc}")] * len(batch)
        for read, outcome in zip(batch, outcomes, strict=True):
            if read.done.cancelled():
                continue
            if isinstance(outcome, BaseException):
                read.done.set_exception(outcome)
            else:
                read.done.set_result(outcome)

    # ---- writing ------------------------------------------------------------------------

    async def commit(self, writes: Iterable[Write]) -> list[int]:
        """Apply `writes` atomically and durably; return each one's row count.

        Raises `Conflict` when a write's `expect_rows` did not hold (nothing was kept), and
        `StorageError` when the database refused the writes or the commit failed.
        """
        if self._loop_task is None or self._loop_task.done():
            raise StorageError("the database is closed")
        pending = _Pending(tuple(writes), asyncio.get_running_loop().create_future())
        await self._queue.put(pending)
        return await pending.done

    async def _commit_loop(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            await self._apply(batch)
            if stop:
                return

    async def _apply(self, batch: list[_Pending]) -> None:
        try:
            # One hop to the connection's thread for the whole batch: per-statement awaits
            # would cost a thread switch each and cap the rate well below the disk's.
            outcomes = await self._writer._execute(_apply_batch, self._writer._conn, batch)
            self.commits += 1
        except sqlite3.Error as exc:
            log.error("commit of %d turn(s) failed: %s", len(batch), exc)
            outcomes = [StorageError(f"the database could not commit: {exc}")] * len(batch)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.done.cancelled():
                continue
            if isinstance(outcome, BaseException):
                pending.done.set_exception(outcome)
            else:
                pending.done.set_result(outcome)


def _apply_batch(conn: sqlite3.Connection, batch: list[_Pending]) -> list[list[int] | Exception]:
    """Runs in the writer's thread: one transaction, one savepoint per caller."""
    outcomes: list[list[int] | Exception] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for pending in batch:
            conn.execute("SAVEPOINT turn")
            try:
                counts = []
                for w in pending.writes:
                    count = conn.execute(w.sql, w.params).rowcount
                    if w.expect_rows is not None and count != w.expect_rows:
                        raise Conflict(f"expected {w.expect_rows} row(s), touched {count}")
                    counts.append(count)
            except (Conflict, sqlite3.Error) as exc:
                conn.execute("ROLLBACK TO turn")
                outcomes.append(
                    exc
                    if isinstance(exc, Conflict)
                    else StorageError(f"the database refused a write: {exc}")
                )
            else:
                outcomes.append(counts)
            conn.execute("RELEASE turn")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _read_batch(conn: sqlite3.Connection, batch: list[_Read]) -> list[Any]:
    """Runs in the reader's thread: each read on its own, one failure failing only itself."""
    outcomes: list[Any] = []
    for read in batch:
        try:
            cursor = conn.execute(read.sql, read.params)
            outcomes.append(cursor.fetchall() if read.many else cursor.fetchone())
        except sqlite3.Error as exc:
            outcomes.append(StorageError(f"database read failed: {exc}"))
    return outcomes


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = aiosqlite.connect(path, isolation_level=None)
    try:
        await conn
    except sqlite3.Error as exc:
        # aiosqlite stops its worker thread without waiting for it; wait here, or the
        # thread may call back into an event loop that the CLI has already closed.
        worker = getattr(conn, "_thread", None)
        if worker is not None:
            await asyncio.get_running_loop().run_in_executor(None, worker.join, 5)
        raise StorageError(f"cannot open the database {path}: {exc}") from None
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA busy_timeout = 5000")
        mode = await (await conn.execute("PRAGMA journal_mode = WAL")).fetchone()
        if mode is None or mode[0].lower() != "wal":
            raise StorageError(f"cannot use WAL mode on {path}")
        # FULL: a committed turn survives a power cut, not only a crash of the process.
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        await conn.close()
        raise StorageError(f"cannot use the database {path}: {exc}") from None
    except BaseException:
        await conn.close()
        raise
    return conn


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        row = await (await conn.execute("SELECT MAX(version) FROM schema_version")).fetchone()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path} is not a Tierline database (or is damaged): {exc}") from None
    current = row[0] or 0 if row else 0
    if current > latest_version():
        raise StorageError(
            f"{path} has schema version {current}, newer than this Tierline understands "
            f"({latest_version()}); upgrade Tierline or use another database file"
        )
    for migration in sorted(MIGRATIONS, key=lambda m: m.version):
        if migration.version <= current:
            continue
        try:
            await conn.execute("BEGIN IMMEDIATE")
            for statement in _statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) "
                "VALUES (?, ?, datetime('now'))",
                (migration.version, migration.name),
            )
            await conn.execute("COMMIT")
        except sqlite3.Error as exc:
            await conn.execute("ROLLBACK")
            raise StorageError(
                f"migration {migration.version} ({migration.name}) failed on {path}: {exc}"
            ) from None
        log.info("database migrated to version %d: %s", migration.version, migration.name)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (migrations hold no literal semicolons)."""
    return [s.strip() for s in script.split(";") if s.strip()]
