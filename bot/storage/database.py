"""The database: `Database.open(location)` opens a SQLite file (a path: the embedded
default) or a PostgreSQL database (a `postgresql://` URL, `bot.storage.postgres`). Both
run the same statements behind the same interface: `fetchone`, `fetchall`, `commit` of
`Write`s, `hold` of one conversation for the length of a turn.

On SQLite: one file in WAL mode, opened through aiosqlite.

Three connections: a reader for lookups, which sees only committed data, a writer owned
by a group-commit loop, and one that only copies the WAL back into the database
(checkpoints, started between batches and not awaited by the writer; under load that never
pauses, the writer waits once in a while for a short one of its own, so that the WAL can
start over: `WAL_LIMIT_BYTES`). A read runs on the event loop's thread when it cannot
wait: the reader's busy timeout is 0 there and SQLite stops it after `READ_HERE_STEPS`
steps (a point lookup takes a few dozen). A hop to the reader's thread cost the loop a
future, a task and two thread wake-ups, most of a lookup's cost when turns are few; when
many are in flight (a batch of `READ_HERE_BELOW` groups or more), their reads share a hop
and go to the reader's thread. A read stopped so or finding the database busy (another
process holding it) runs again in the reader's thread, with the busy timeout; reads asked
for while one is there follow it, coalesced in one hop.

Callers hand the writer a list of `Write`s and await the result; the loop gathers what
is waiting, applies each caller's writes in a savepoint of one transaction, commits once,
and only then wakes the callers. A commit is therefore shared by many turns (the
expensive part of a durable write is the sync to disk), yet every turn is committed
before its reply is released.

Where each step runs: the transaction is begun in the writer's thread (it may wait for
another process's write lock), the statements are applied on the event loop's own thread
(in WAL mode, once the write lock is held they wait for nothing: no disk sync, no lock),
and the commit, which syncs to disk, runs in the writer's thread again. Applying a batch's
statements in the writer's thread cost a hand-over of Python's GIL at every statement
(SQLite releases it around each step) while the loop was busy with other turns: the writer
spent ~4 times its own CPU time waiting for the GIL, and was the bottleneck.

A `Write` may state how many rows it must touch (`expect_rows`). When it touches another
number, the caller's savepoint is rolled back and the caller gets `Conflict`: that is how
capacity checks and optimistic version checks stay atomic without long-held locks.

Nothing a caller hands in can stop the writer. A statement that fails for any reason (an
SQL error, a value SQLite cannot bind such as text with a lone surrogate, anything else)
rolls back that caller's savepoint only: that caller gets `StorageError`, the other callers
of the batch are committed. When the transaction as a whole fails, each caller is tried
again in a transaction of its own, so one bad group still fails alone. The loop itself
survives any exception (logged, masked like every log line) and, should it ever end, every
caller still waiting is answered with `StorageError` instead of waiting for ever.

What a caller keeps in memory of a table (the conversations port caches rows between turns)
stays true through `watch`: the callback is called when a commit in this process writes to
the table by a statement the watcher did not make itself, and when another connection (a
second process on the same file) has committed anything, as the writer sees at the start of
each batch (`PRAGMA data_version`). In that batch, every group holding one of the statements
the watcher names as `guarded` (a save decided on a kept row) gets `Conflict`, since the
other connection may have changed that row: its caller reads again and decides again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Sequence,
)
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
from msgspec import Struct

from bot.model import ConversationKey
from bot.storage.migrations import MIGRATIONS, latest_version
from bot.storage.writes import (
    POSTGRES_SCHEMES,
    Conflict,
    Params,
    StorageError,
    Write,
    is_postgres_url,
    redact,
)

__all__ = [
    "POSTGRES_SCHEMES",
    "Conflict",
    "Database",
    "Params",
    "SqliteDatabase",
    "StorageError",
    "Write",
    "is_postgres_url",
    "redact",
]

log = logging.getLogger(__name__)
# aiosqlite logs every statement it runs at DEBUG with its parameters (phone numbers,
# receipts, names): those lines never leave the library, whatever the log level.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

MAX_BATCH = 512
BUSY_TIMEOUT_MS = 5000  # how long a connection waits for another process's lock
# WAL checkpoints are started between batches (autocheckpoint is off on the writer): when the
# queue is idle after CHECKPOINT_EVERY commits or CHECKPOINT_IDLE_SECONDS, and after
# CHECKPOINT_FORCE_AFTER commits even when it is never idle. They run on a connection of
# their own, so the writer goes on committing while one copies the WAL back.
CHECKPOINT_EVERY = 64
CHECKPOINT_IDLE_SECONDS = 1.0
CHECKPOINT_FORCE_AFTER = 1000
# Those checkpoints alone cannot keep the WAL small under load that never pauses. SQLite
# starts the WAL over only when a write begins with every frame copied back, and while one
# checkpoint copies, the writer commits more: at 4,000 turns/s the file grew ~65 MB a
# second and never shrank (`docs/performance.md`). So past WAL_LIMIT_BYTES a checkpoint
# starts after every batch, and once no more than WAL_TOP_UP_COMMITS were committed while
# one ran, the writer copies those itself before its next batch, which then writes the WAL
# from its start; SQLite cuts the file back to the limit. When the WAL did not start over
# after all (another connection is still reading an older state of the database, and the
# frames it may need cannot be copied back yet), the limit is left alone for
# WAL_RETRY_AFTER commits: trying after every batch cost each one a checkpoint and a wait.
WAL_LIMIT_BYTES = 64 << 20
WAL_TOP_UP_COMMITS = 4
WAL_RETRY_AFTER = 64
_STATEMENTS_MEMO = 4096  # distinct statements remembered with the watchers they concern


class _Pending(Struct):
    writes: Sequence[Write]
    done: asyncio.Future[list[int]]


class _Read(Struct):
    sql: str
    params: Params
    many: bool
    done: asyncio.Future[Any]


class _WriterThread:
    """The writer connection's own thread, for the steps that may wait: `_begin` when another
    process holds the write lock, and `_commit` (the sync to disk). Woken once per batch
    through a `SimpleQueue` and answering through one `call_soon_threadsafe`: aiosqlite's
    worker cost a `partial`, a future set through a helper and two log calls per call.
    Its steps never run at the same time as the loop's own use of the connection: the
    group-commit loop awaits each one."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._steps: queue.SimpleQueue[_Step | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="tierline-writer", daemon=True)
        self._thread.start()

    def run(self, step: Callable[[sqlite3.Connection], None]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._steps.put((step, done))
        return done

    def stop(self) -> None:
        """Ends the thread once the step it may be running is done."""
        self._steps.put(None)

    async def stopped(self) -> None:
        """`stop`, and wait (in a thread, not on the loop) until it has ended: the writer's
        connection may be closed then. A step may still be running when its caller was
        cancelled (a COMMIT syncing), and closing the connection under it crashes SQLite."""
        self.stop()
        await asyncio.to_thread(self._thread.join)

    def _serve(self) -> None:
        conn = self._conn
        while (item := self._steps.get()) is not None:
            step, done = item
            failure: BaseException | None = None
            try:
                step(conn)
            except BaseException as exc:  # whatever it is, the loop is told (never lost here)
                failure = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits now
                done.get_loop().call_soon_threadsafe(_answer, done, failure)


_Step = tuple[Callable[[sqlite3.Connection], None], "asyncio.Future[None]"]


def _answer(done: asyncio.Future[None], failure: BaseException | None) -> None:
    if done.done():
        return
    if failure is None:
        done.set_result(None)
    else:
        done.set_exception(failure)


class _Free:
    """`Database.hold` on SQLite: nothing to hold, at no cost per turn (an
    `asynccontextmanager` builds a generator and a wrapper every turn)."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


_FREE = _Free()


class Database(Protocol):
    """An open Tierline database. Use `await Database.open(location)`, then `close()`.

    `location` is the path of a SQLite file or a `postgresql://` URL: this is the one place
    that picks the backend. Rows read support `row["column"]`, `row[0]` and `dict(row)`."""

    backend: str
    # A local path the database's companion files are named after (the Telegram sending
    # journal, `<path>.sending`): the file itself on SQLite.
    path: Path
    # Where it was opened: the file's path, or the URL (with its password).
    location: Path | str
    commits: int

    @classmethod
    async def open(cls, location: Path | str) -> Database:
        if is_postgres_url(location):
            from bot.storage.postgres import PostgresDatabase

            return await PostgresDatabase.open(str(location))
        return await SqliteDatabase.open(location)

    async def close(self) -> None: ...

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def fetchone(self, sql: str, params: Params = ()) -> Any: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]: ...

    async def commit(self, writes: Iterable[Write]) -> list[int]:
        """Apply `writes` atomically and durably; return each one's row count.

        Raises `Conflict` when a write's `expect_rows` did not hold (nothing was kept), and
        `StorageError` when the database refused the writes or the commit failed.
        """
        ...

    # ---- the catalogue (`tierline copy`) -----------------------------------------------

    async def tables(self) -> list[str]:
        """The product's tables in the order they were made (a table is made after those
        it refers to), without `schema_version`."""
        ...

    async def columns(self, table: str) -> tuple[list[str], list[str]]:
        """A table's columns in order, and those of its primary key."""
        ...

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_version")
        return int(row["v"] or 0) if row is not None else 0

    async def after_copy(self) -> None:
        """Rows were written with their ids: what must know it is told (sequences)."""

    async def on_outbox(self, wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """Call `wake` whenever a notice is committed to the outbox by any process on this
        database; returns what stops it. SQLite: nothing to listen to (other processes'
        notices are found by the pusher's next round)."""

        async def stop() -> None:
            return None

        return stop

    async def on_inbox(self, wake: Callable[[int, int], None]) -> Callable[[], Awaitable[None]]:
        """Call `wake(chat, update_id)` whenever an update of `chat` is newly stored in the Telegram
        inbox by any process on this database (replicas behind a load balancer); returns
        what stops it. SQLite: one process takes the updates in, nothing to listen to."""

        async def stop() -> None:
            return None

        return stop

    # Whether `hold` holds anything: where it does not (SQLite), a turn need not enter it.
    holds: bool = False

    def hold(self, key: ConversationKey) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold `key`'s conversation for one turn, against other processes on the same
        database too. SQLite: one process writes a file, whose engine already runs one
        turn of a conversation at a time, so there is nothing more to hold."""
        return _FREE

    @contextlib.asynccontextmanager
    async def try_hold(self, key: ConversationKey) -> AsyncIterator[bool]:
        """`hold`, unless another process holds `key` now: then yield False at once
        instead of waiting. SQLite: nothing to hold, True."""
        async with self.hold(key):
            yield True

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        """Whether this process is the only one running the block named `name` now (one
        replica registers the webhook, one runs the clock-driven work); False at once when
        another process runs it. SQLite: one process, True."""
        yield True

    # Whether a port may keep rows in memory between turns, told by `watch` when they may
    # have changed. A server database is written by other processes at any moment without
    # telling this one: nothing is kept there.
    keeps_rows: bool = False

    def watch(
        self,
        table: str,
        forget: Callable[[], None],
        own: Collection[str] = (),
        guarded: Collection[str] = (),
    ) -> None:
        """Call `forget` whenever `table` may have changed behind the caller's back (see
        `SqliteDatabase.watch`); where `keeps_rows` is false, nothing is kept to forget."""


class SqliteDatabase(Database):
    """An open SQLite database file."""

    keeps_rows = True  # one process writes the file; another's commits are seen (`watch`)

    backend = "sqlite"

    def __init__(
        self,
        path: Path,
        reader: aiosqlite.Connection,
        writer: aiosqlite.Connection,
        checkpointer: aiosqlite.Connection | None = None,
    ):
        self.path = path
        self.location: Path | str = path
        self._reader = reader
        self._read_conn = reader._conn  # for reads on the loop's thread
        self._checkpointer = checkpointer  # None: the writer checkpoints
        self._checkpointing: asyncio.Task[None] | None = None
        self._writer = writer
        self._writer_thread = _WriterThread(writer._conn)
        # The groups waiting for the next batch, and what wakes the idle writer (a plain list
        # and one future per idle spell: an `asyncio.Queue` cost every turn a put, a get and
        # their wake-up bookkeeping).
        self._waiting: list[_Pending] = []
        self._wake: asyncio.Future[None] | None = None
        self._closing = False
        self._loop_task: asyncio.Task[None] | None = None
        self._reads: list[_Read] = []  # waiting for the reader's thread
        self._reads_away = 0  # batches of reads in the reader's thread now
        self._read_tasks: set[asyncio.Task[None]] = set()  # held so they are not collected
        self._in_flight: list[_Pending] = []  # the batch being applied now
        self.commits = 0  # how many transactions were committed (for benchmarks)
        self.checkpoints = 0  # how many WAL checkpoints were run
        self._since_checkpoint = 0  # commits since the last checkpoint
        self._checkpointed_at = time.monotonic()
        self._wal = Path(f"{path}-wal")
        self._top_up_due = False  # the writer copies the last frames before its next batch
        self._topped_up = False  # the last batch followed a top-up
        self._limit_from = 0  # past the WAL's limit counts from this many commits on
        self.top_ups = 0  # how many times the writer waited for a checkpoint of its own
        # (table, the watcher's own statements, what to call) for `watch`
        self._watches: list[tuple[str, frozenset[str], Callable[[], None]]] = []
        self._data_version: int | None = None  # the writer's, at the last batch
        self._guarded: frozenset[str] = frozenset()  # the watchers' own statements
        # statement -> the watchers to call when it is committed (`_forget_for`)
        self._touches: dict[str, tuple[Callable[[], None], ...]] = {}
        self.foreign_commits = 0  # batches that found another connection's commit first

    # ---- opening and closing ------------------------------------------------------------

    @classmethod
    async def open(cls, location: Path | str) -> SqliteDatabase:
        path = Path(location)
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
            # No checkpoint inside a turn's commit: checkpoints run on their own connection,
            # started between batches (`_maybe_checkpoint`).
            await writer.execute_fetchall("PRAGMA wal_autocheckpoint = 0")
            # When the WAL starts over, its file is cut back to the limit (WAL_LIMIT_BYTES).
            await writer.execute_fetchall(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
            # The writer never waits for a lock on the loop's thread: its busy timeout is 0
            # but while `_begin` waits for another process's write lock in its own thread.
            await writer.execute_fetchall("PRAGMA busy_timeout = 0")
            reader = await _connect(path)
            await _read_here_at_most(reader)
        except BaseException:
            await writer.close()
            raise
        try:
            checkpointer = await _connect(path)
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        db = cls(path, reader, writer, checkpointer)
        db._loop_task = asyncio.create_task(db._commit_loop(), name="tierline-group-commit")
        return db

    async def close(self) -> None:
        if self._loop_task is not None:
            self._closing = True  # what waits is still committed, nothing more is taken
            self._wake_writer()
            await self._loop_task
            self._loop_task = None
        if self._checkpointing is not None:
            await self._checkpointing
            self._checkpointing = None
        await self._writer_thread.stopped()
        if self._checkpointer is not None:
            await self._checkpointer.close()
        await self._reader.close()
        await self._writer.close()

    async def tables(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_version'"
            " AND name NOT LIKE 'sqlite%' ORDER BY rowid"
        )
        return [r["name"] for r in rows]

    async def columns(self, table: str) -> tuple[list[str], list[str]]:
        rows = await self.fetchall("SELECT name, pk FROM pragma_table_info(?)", (table,))
        names = [r["name"] for r in rows]
        key = [r["name"] for r in sorted(rows, key=lambda r: r["pk"]) if r["pk"]]
        return names, key

    # ---- reading ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._loop_task is None:
            raise StorageError("the database is closed")

    # fetchone and fetchall first try the read here, on the loop's thread (module doc): no
    # hop, and no coroutine of `_read` on the way (a turn reads once or twice).

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._read_now(sql, params, many=False)
        if row is _AWAY:
            row = await self._read(sql, params, many=False)
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = self._read_now(sql, params, many=True)
        if rows is _AWAY:
            rows = await self._read(sql, params, many=True)
        return rows

    def _read_now(self, sql: str, params: Params, *, many: bool) -> Any:
        """The read done here, or `_AWAY` when it is for the reader's thread: reads are
        waiting there, the load is heavy, or SQLite stopped it or found the file busy."""
        if self._reads or self._reads_away or not self._read_here():
            return _AWAY
        try:
            cursor = self._read_conn.execute(sql, params)
            return cursor.fetchall() if many else cursor.fetchone()
        except Exception as exc:  # e.g. a parameter that is not valid text
            _unless_elsewhere(exc)
            return _AWAY

    def _read_here(self) -> bool:
        """Whether a read may run on the loop's thread: the database is open and the batch
        being committed is small. Under heavier load many reads are asked for in one turn of
        the loop and share one hop, which then costs the loop less than reading here (the
        lookup's system calls and its hand-overs of the GIL are the loop's then)."""
        return self._loop_task is not None and len(self._in_flight) < READ_HERE_BELOW

    async def _read(self, sql: str, params: Params, *, many: bool) -> Any:
        """The read in the reader's thread (with those asked for meanwhile)."""
        self._check_open()
        loop = asyncio.get_running_loop()
        read = _Read(sql, params, many, loop.create_future())
        if not self._reads:
            loop.call_soon(self._flush_reads)
        self._reads.append(read)
        return await read.done

    def _flush_reads(self) -> None:
        batch, self._reads = self._reads, []
        self._reads_away += 1  # the loop's thread leaves the reader alone meanwhile
        task = asyncio.ensure_future(self._run_reads(batch))
        self._read_tasks.add(task)
        task.add_done_callback(self._read_tasks.discard)

    async def _run_reads(self, batch: list[_Read]) -> None:
        try:
            outcomes = await self._reader._execute(_read_batch, self._reader._conn, batch)
        except Exception as exc:  # e.g. ValueError: the connection was closed
            outcomes = [StorageError(f"database read failed: {_describe(exc)}")] * len(batch)
        finally:
            self._reads_away -= 1
        for read, outcome in zip(batch, outcomes, strict=True):
            if read.done.cancelled():
                continue
            if isinstance(outcome, BaseException):
                read.done.set_exception(outcome)
            else:
                read.done.set_result(outcome)

    # ---- writing ------------------------------------------------------------------------

    def watch(
        self,
        table: str,
        forget: Callable[[], None],
        own: Collection[str] = (),
        guarded: Collection[str] = (),
    ) -> None:
        """Call `forget` whenever `table` may have changed behind the caller's back: a write
        to it by a statement not in `own` (before it is applied and once it is done), or a
        commit by another connection. A group holding a `guarded` statement conflicts in
        the first batch after another connection's commit."""
        self._watches.append((table, frozenset(own), forget))
        self._guarded = self._guarded | frozenset(guarded)
        self._touches.clear()

    def _forget_for(self, writes: Sequence[Write]) -> list[Callable[[], None]]:
        found: list[Callable[[], None]] = []
        touches = self._touches
        for w in writes:
            forgets = touches.get(w.sql)
            if forgets is None:  # worked out once per statement
                if len(touches) > _STATEMENTS_MEMO:
                    touches.clear()
                forgets = touches[w.sql] = tuple(
                    forget
                    for table, own, forget in self._watches
                    if table in w.sql and w.sql not in own
                )
            for forget in forgets:
                if forget not in found:
                    found.append(forget)
        return found

    async def commit(self, writes: Iterable[Write]) -> list[int]:
        if self._closing or self._loop_task is None or self._loop_task.done():
            raise StorageError("the database is closed")
        done: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        pending = _Pending(tuple(writes), done)
        forgets = self._forget_for(pending.writes) if self._watches else ()
        for forget in forgets:
            forget()
        self._waiting.append(pending)  # unbounded: never waits
        self._wake_writer()
        if not forgets:  # nearly every turn: nothing kept to forget again afterwards
            return await done
        try:
            return await done
        finally:
            for forget in forgets:
                forget()

    def _wake_writer(self) -> None:
        """Wake the group-commit loop when it is idle (it awaits `_wake`)."""
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)

    async def _commit_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not self._waiting:
                    if self._closing:
                        return
                    self._wake = loop.create_future()
                    await self._wake
                    continue
                if self._top_up_due:
                    await self._top_up()
                batch = self._waiting
                if len(batch) > MAX_BATCH:
                    batch, self._waiting = batch[:MAX_BATCH], batch[MAX_BATCH:]
                else:
                    self._waiting = []
                self._in_flight = batch
                try:
                    await self._apply(batch)
                except Exception:  # a bug in the loop itself: fail this batch, go on
                    log.exception("the group commit failed unexpectedly; the writer goes on")
                    _settle(batch, [StorageError("the database could not commit")] * len(batch))
                self._in_flight = []
                self._maybe_checkpoint()
        finally:
            self._fail_waiting()

    def _maybe_checkpoint(self) -> None:
        """Start copying the WAL back into the database between batches, never inside a
        commit: when no turn is waiting and enough has been committed since the last one, and
        in any case after CHECKPOINT_FORCE_AFTER commits or past WAL_LIMIT_BYTES. It runs on
        the checkpoint connection while the writer goes on; one at a time (another would
        find SQLite's checkpoint lock taken, and so would the writer's top-up)."""
        if self._topped_up:
            self._topped_up = False
            if self._wal_bytes() > WAL_LIMIT_BYTES:  # it did not start over (module constants)
                self._limit_from = self.commits + WAL_RETRY_AFTER
        if self._top_up_due or (self._checkpointing is not None and not self._checkpointing.done()):
            return
        due = self._since_checkpoint >= CHECKPOINT_FORCE_AFTER or self._past_limit()
        due = due or (
            not self._waiting
            and self._since_checkpoint > 0
            and (
                self._since_checkpoint >= CHECKPOINT_EVERY
                or time.monotonic() - self._checkpointed_at >= CHECKPOINT_IDLE_SECONDS
            )
        )
        if due:
            self._checkpointing = asyncio.create_task(self.checkpoint(), name="tierline-checkpoint")

    async def checkpoint(self) -> None:
        """A PASSIVE checkpoint: it never waits for readers or the writer and never blocks
        them; what it cannot copy yet is copied by the next one."""
        self._since_checkpoint = 0
        self._checkpointed_at = time.monotonic()
        commits = self.commits
        try:
            await (self._checkpointer or self._writer).execute_fetchall(
                "PRAGMA wal_checkpoint(PASSIVE)"
            )
        except Exception as exc:  # the WAL keeps the data; the next one tries again
            log.warning("WAL checkpoint failed: %s", _describe(exc))
            return
        self.checkpoints += 1
        if self.commits - commits <= WAL_TOP_UP_COMMITS and self._past_limit():
            self._top_up_due = True

    async def _top_up(self) -> None:
        """Between batches, on the writer's own connection: copy back what was committed
        while the last checkpoint ran, so that the next batch starts the WAL over (module
        constants). The writer waits for this one; it copies a few batches at most."""
        self._top_up_due = False
        try:
            await self._writer_thread.run(_checkpoint_here)
        except Exception as exc:  # as with any checkpoint: the next one tries again
            log.warning("WAL checkpoint failed: %s", _describe(exc))
            return
        self.top_ups += 1
        self._topped_up = True

    def _past_limit(self) -> bool:
        return self.commits >= self._limit_from and self._wal_bytes() > WAL_LIMIT_BYTES

    def _wal_bytes(self) -> int:
        try:
            return self._wal.stat().st_size
        except OSError:  # not there (yet): nothing to copy back
            return 0

    def _fail_waiting(self) -> None:
        """The loop has ended: whoever still waits is told, not left waiting for ever."""
        waiting = [p for p in self._in_flight if not p.done.done()]
        waiting += self._waiting
        self._in_flight, self._waiting, self._wake = [], [], None
        if waiting:
            log.error("the writer stopped with %d group(s) of writes not applied", len(waiting))
            _settle(waiting, [StorageError("the database is closed")] * len(waiting))

    async def _apply(self, batch: list[_Pending]) -> None:
        outcomes, cause = await self._run_batch(batch)
        if cause is not None and len(batch) > 1 and _may_be_one_group(cause):
            # The transaction as a whole failed, and not because the database is busy or
            # gone: try each group alone, so that only a group that causes it is refused.
            log.warning("retrying %d group(s) of writes one by one", len(batch))
            outcomes = []
            for pending in batch:
                alone, _ = await self._run_batch([pending])
                outcomes.extend(alone)
        _settle(batch, outcomes)

    async def _run_batch(
        self, batch: list[_Pending]
    ) -> tuple[list[list[int] | Exception], BaseException | None]:
        """Apply `batch` in one transaction: each group's outcome, and the exception that
        made the transaction fail as a whole (nothing of it was kept then), if one did."""
        conn = self._writer._conn
        try:
            # The write lock is taken on the loop's thread when it is free (nearly always),
            # else in the writer's thread, which may wait for it; the commit is a hop to
            # the writer's thread. None per statement (module doc).
            if not _begin_now(conn):
                await self._writer_thread.run(_begin)
            try:
                outcomes, version = _apply_batch(conn, batch, self._data_version, self._guarded)
            except BaseException:
                _roll_back(conn)
                raise
            if version != self._data_version:
                # Another connection committed since the last batch: what is kept is
                # dropped now, before the commit's await, so that no turn decided while
                # this batch commits answers from a kept row (its check would land in the
                # next batch, which sees no new commit and would not refuse it).
                if self._data_version is not None:
                    self.foreign_commits += 1
                    for _table, _own, forget in self._watches:
                        forget()
                self._data_version = version
            await self._writer_thread.run(_commit)
        except Exception as exc:
            log.error("commit of %d group(s) failed: %s", len(batch), _describe(exc))
            error = StorageError(f"the database could not commit: {_describe(exc)}")
            return [error] * len(batch), exc
        self.commits += 1
        self._since_checkpoint += 1
        return outcomes, None


def _settle(batch: Sequence[_Pending], outcomes: Sequence[list[int] | Exception]) -> None:
    for pending, outcome in zip(batch, outcomes, strict=True):
        done = pending.done
        if done.done():
            continue
        # A list nearly always: tested by exact type first, without an isinstance walk.
        if outcome.__class__ is not list and isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)


def _may_be_one_group(exc: BaseException) -> bool:
    """Whether a failed transaction may be one group's doing (worth retrying each group
    alone), rather than the database being busy, locked or closed for everyone."""
    if not isinstance(exc, sqlite3.Error):
        return False  # e.g. ValueError: the connection is closed
    text = str(exc).lower()
    return "locked" not in text and "busy" not in text


def _describe(exc: BaseException) -> str:
    """What went wrong, without the values involved (they may be anyone's input)."""
    if isinstance(exc, sqlite3.Error):
        return str(exc)
    if isinstance(exc, UnicodeError):
        return f"{type(exc).__name__}: a value is not valid text"
    return type(exc).__name__


def _apply_batch(
    conn: sqlite3.Connection,
    batch: list[_Pending],
    last_version: int | None = None,
    guarded: frozenset[str] = frozenset(),
) -> tuple[list[list[int] | Exception], int]:
    """Runs on the event loop's thread, in the transaction `_begin` began: every caller's
    group of writes atomic and failing alone. Also gives the connection's data version as
    the transaction began (it moves only when another connection commits); when it moved
    since `last_version`, a group holding a `guarded` statement conflicts (see
    `Database.watch`).

    The groups are first applied one after the other under one savepoint for the batch:
    nearly always none fails, and the batch costs no savepoint per group. When one fails,
    the batch is rolled back to that savepoint and applied again with a savepoint per group,
    so that only the failing group is refused."""
    cursor = conn.cursor()
    version = cursor.execute("PRAGMA data_version").fetchone()[0]
    foreign = last_version is not None and version != last_version
    outcomes = None if foreign else _apply_all(cursor, batch)
    if outcomes is None:
        outcomes = _apply_each(cursor, batch, guarded if foreign else frozenset())
    return outcomes, version


def _apply_all(cursor: sqlite3.Cursor, batch: list[_Pending]) -> list[list[int] | Exception] | None:
    """Every group of `batch` under one savepoint; None (and nothing of it kept) when any
    write failed or touched another number of rows than it expects."""
    execute = cursor.execute  # looked up once: three statements a turn
    execute("SAVEPOINT batch")
    outcomes: list[list[int] | Exception] = []
    try:
        for pending in batch:
            counts = []
            for w in pending.writes:
                count = execute(w.sql, w.params).rowcount
                if w.expect_rows is not None and count != w.expect_rows:
                    raise Conflict(f"expected {w.expect_rows} row(s), touched {count}")
                counts.append(count)
            outcomes.append(counts)
    except Exception:  # the groups are applied again one by one, each in a savepoint
        cursor.execute("ROLLBACK TO batch")
        cursor.execute("RELEASE batch")
        return None
    cursor.execute("RELEASE batch")
    return outcomes


def _apply_each(
    cursor: sqlite3.Cursor, batch: list[_Pending], guarded: frozenset[str]
) -> list[list[int] | Exception]:
    """Each group of `batch` in a savepoint of its own: a failure fails that group only."""
    outcomes: list[list[int] | Exception] = []
    for pending in batch:
        cursor.execute("SAVEPOINT turn")
        try:
            if guarded and any(w.sql in guarded for w in pending.writes):
                raise Conflict("another connection committed since the rows were kept")
            counts = []
            for w in pending.writes:
                count = cursor.execute(w.sql, w.params).rowcount
                if w.expect_rows is not None and count != w.expect_rows:
                    raise Conflict(f"expected {w.expect_rows} row(s), touched {count}")
                counts.append(count)
        except Exception as exc:  # any failure fails this group only
            cursor.execute("ROLLBACK TO turn")
            if not isinstance(exc, Conflict):
                log.error("a group of writes was refused: %s", _describe(exc))
            outcomes.append(
                exc
                if isinstance(exc, Conflict)
                else StorageError(f"the database refused a write: {_describe(exc)}")
            )
        else:
            outcomes.append(counts)
        cursor.execute("RELEASE turn")
    return outcomes


def _begin_now(conn: sqlite3.Connection) -> bool:
    """Runs on the event loop's thread: take the write lock if it is free at once, never
    waiting for it (the writer's busy timeout is 0, see `open`). False when it is not
    (another process is writing): `_begin` then waits for it in the writer's thread. This
    saves a thread hop per batch, which costs the loop's thread as much as a dozen turns'
    writes when batches are small (a quiet server: a turn or two per commit)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error:
        _roll_back(conn)
        return False
    return True


def _begin(conn: sqlite3.Connection) -> None:
    """Runs in the writer's thread: take the write lock, waiting for another process's
    transaction up to the busy timeout (0 again afterwards: the writer's statements run on
    the loop's thread)."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


def _commit(conn: sqlite3.Connection) -> None:
    """Runs in the writer's thread: commit (the sync to disk); roll back if it fails."""
    try:
        conn.execute("COMMIT")
    except BaseException:
        _roll_back(conn)
        raise


def _checkpoint_here(conn: sqlite3.Connection) -> None:
    """Runs in the writer's thread, between transactions (`SqliteDatabase._top_up`)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _roll_back(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # the original failure is the one to report
            log.error("rollback after a failed commit failed too: %s", exc)


# A read runs on the loop's thread when it may: the reader's busy timeout is 0 there, and
# SQLite stops it after READ_HERE_STEPS steps of its virtual machine (a point lookup takes a
# few dozen; a scan thousands). A read stopped so, or finding the database busy (another
# process recovering the WAL or holding it exclusively), is run again in the reader's
# thread, with the busy timeout, and so is every read asked for while one is there.
READ_HERE_STEPS = 20_000


def keep_newest(rows: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """Keep `value` under `key` in `rows`, a port's rows kept between turns (`watch`), at
    most `limit` of them: when full, the one kept longest ago goes."""
    rows.pop(key, None)
    if len(rows) >= limit:
        del rows[next(iter(rows))]
    rows[key] = value


_AWAY = object()  # `_read_now`: this read is for the reader's thread
READ_HERE_BELOW = 8  # groups in the batch being committed (`SqliteDatabase._read_here`)
_READ_ELSEWHERE = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT})


def _unless_elsewhere(exc: Exception) -> None:
    """A read on the loop's thread failed: the caller's error, unless it is one that the
    reader's thread may not meet (busy, or stopped for its length): then return."""
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _READ_ELSEWHERE:
        raise StorageError(f"database read failed: {_describe(exc)}") from None


def _stop_here() -> int:
    return 1  # the read is too long for the loop's thread: stop it, it goes to the reader's


async def _read_here_at_most(reader: aiosqlite.Connection) -> None:
    await reader.execute_fetchall("PRAGMA busy_timeout = 0")
    reader._conn.set_progress_handler(_stop_here, READ_HERE_STEPS)


def _read_batch(conn: sqlite3.Connection, batch: list[_Read]) -> list[Any]:
    """Runs in the reader's thread: each read on its own, one failure failing only itself;
    here a read may wait for a lock (the busy timeout) and take as long as it takes."""
    conn.set_progress_handler(None, 0)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        outcomes: list[Any] = []
        for read in batch:
            try:
                cursor = conn.execute(read.sql, read.params)
                outcomes.append(cursor.fetchall() if read.many else cursor.fetchone())
            except Exception as exc:  # e.g. a parameter that is not valid text
                outcomes.append(StorageError(f"database read failed: {_describe(exc)}"))
        return outcomes
    finally:
        conn.execute("PRAGMA busy_timeout = 0")
        conn.set_progress_handler(_stop_here, READ_HERE_STEPS)


async def _connect(path: Path) -> aiosqlite.Connection:
    # The writer's statements are applied on the event loop's thread, its transaction begun
    # and committed in its own (module doc): one thread at a time, never two at once.
    conn = aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
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
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = await (await conn.execute("PRAGMA journal_mode = WAL")).fetchone()
        if mode is None or mode[0].lower() != "wal":
            raise StorageError(f"cannot use WAL mode on {path}")
        # FULL: a committed turn survives a power cut, not only a crash of the process.
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
        # A savepoint's journal (the pages a batch changed, for its rollback) stays in
        # memory: past 64 KiB SQLite writes it to a temporary file, a system call or two
        # for every page a batch changes, on the event loop's thread.
        await conn.execute("PRAGMA temp_store = MEMORY")
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
