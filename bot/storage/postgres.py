"""The database on PostgreSQL, through asyncpg: the same statements, the same ports and the
same promises as on SQLite (`bot.storage.database`), for more than one process on one
database.

The SQL of the ports is written once, in the dialect both understand; the few SQLite
spellings PostgreSQL does not accept are translated here and nowhere else (`postgres_sql`:
`?` placeholders, `INSERT OR IGNORE`, `IS ?`), and so is the schema (`postgres_ddl`: the
same list of migrations, `bot.storage.migrations`).

The promises:

- Durable before visible: `commit` returns once PostgreSQL has committed (with its default
  `synchronous_commit = on`, the commit is on disk), and callers release a reply only then.
- Capacity never exceeded: a caller's writes run in one SERIALIZABLE transaction, so a
  conditional write ("insert while the slot holds fewer than N") cannot be decided by two
  processes on the same count; a transaction PostgreSQL refuses as not serializable is run
  again on fresh data (it is only SQL and its parameters), and after a few refusals the
  caller gets `Conflict` and decides again.
- A notice queued by one process wakes the others at once: a commit that writes to the
  outbox sends `NOTIFY tierline_outbox`, which `on_outbox` listeners hear (the Telegram
  bot's notice pusher; a staff command run elsewhere is delivered without waiting for
  the pusher's next round).
- One turn at a time per conversation, across processes: `hold(key)` takes a PostgreSQL
  advisory lock on the conversation (a conversation not stored yet has no row to lock) on
  a connection of its own, which the turn's reads and its commit then use; the lock goes
  when the turn ends (or its connection does). Holding a second conversation inside
  (a staff command that moves an applicant's conversation) locks it on that same
  connection, until the inner block ends. `try_hold(key)` is `hold` that does not wait:
  it yields False at once when another process holds the conversation (the Telegram
  replicas' chat lock: the update is handled and its done mark committed on the
  connection that holds the lock, so a replica that dies loses the lock and its
  uncommitted work together).
- An update stored in the Telegram inbox wakes the replicas at once: a commit that stores
  one sends `NOTIFY tierline_inbox, '<chat>:<update>'`, heard through `on_inbox`.
- `exclusive(name)`: one process at a time runs the block (`pg_try_advisory_lock` on the
  name; the others are told False at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import re
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from msgspec import Struct

from bot.model import ConversationKey
from bot.storage.migrations import MIGRATIONS, latest_version
from bot.storage.writes import Conflict, Params, StorageError, Write, redact

log = logging.getLogger(__name__)

POOL_SIZE = 20  # connections per process; a turn holds one from its lock to its commit
SERIALIZATION_ATTEMPTS = 8  # a caller's transaction refused as not serializable, run again
MIGRATION_LOCK = 7_231_617_201  # the advisory lock key that keeps migrations one at a time
OUTBOX_CHANNEL = "tierline_outbox"  # NOTIFY when a commit queued a notice
INBOX_CHANNEL = "tierline_inbox"  # NOTIFY '<chat>:<update>' when a commit stored an update


LISTEN_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # pauses between tries to listen again


class _Listening:
    """A LISTEN on a connection of its own that outlives the connection: when it is lost
    (not closed here), it is opened again, pausing longer after each failed try, and the
    callback is called once with no payload for what may have been missed meanwhile."""

    def __init__(self, url: str, channel: str, callback: Callable[..., None], what: str) -> None:
        self.url = url
        self.channel = channel
        self.callback = callback
        self.what = what
        self.reconnects = 0
        self._conn: Any = None
        self._closed = False
        self._again: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            conn = await asyncpg.connect(self.url, server_settings={"timezone": "UTC"})
            await conn.add_listener(self.channel, self.callback)
        except Exception as exc:
            raise StorageError(f"cannot listen for {self.what}: {_describe(exc)}") from None
        conn.add_termination_listener(self._lost)
        self._conn = conn

    def _lost(self, conn: Any) -> None:
        if self._closed or conn is not self._conn or self._again is not None:
            return
        log.warning("the connection listening for %s was lost; listening again", self.what)
        self._again = asyncio.get_running_loop().create_task(
            self._listen_again(), name=f"tierline-listen-{self.channel}"
        )

    async def _listen_again(self) -> None:
        tries = 0
        while not self._closed:
            await asyncio.sleep(LISTEN_RETRY_SECONDS[min(tries, len(LISTEN_RETRY_SECONDS) - 1)])
            if self._closed:
                return
            try:
                await self.start()
            except StorageError as exc:
                tries += 1
                if tries == 1 or tries % 10 == 0:
                    log.warning("%s (tried %d times); trying again", exc, tries)
                continue
            self._again = None
            self.reconnects += 1
            log.info("listening for %s again", self.what)
            self.callback(self._conn, 0, self.channel, "")
            return

    async def close(self) -> None:
        self._closed = True
        again, self._again = self._again, None
        if again is not None:
            again.cancel()
            await asyncio.gather(again, return_exceptions=True)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=5)


class _Held(Struct):
    """The connection one turn holds its conversation's lock on (its reads and commit go
    through it, one statement at a time)."""

    db: PostgresDatabase
    conn: Any  # asyncpg.Connection
    lock: asyncio.Lock
    names: set[str]  # the conversations it holds (the first, and any held inside)


_HELD: contextvars.ContextVar[_Held | None] = contextvars.ContextVar(
    "tierline_pg_held", default=None
)


class PostgresDatabase:
    """An open PostgreSQL database. Use `await Database.open("postgresql://…")`: it is a
    `bot.storage.database.Database` (that protocol is not imported here, so that the module
    that picks the backend imports this one, not the other way round)."""

    backend = "postgresql"

    def __init__(self, url: str, pool: Any) -> None:
        self.url = url
        self._pool = pool
        self._open = True
        self.commits = 0
        self.retries = 0  # transactions run again after a serialization failure
        self._listeners: list[_Listening] = []  # `on_outbox`, `on_inbox`
        self.location: Path | str = url
        parts = urlsplit(url)
        name = (parts.path or "/").strip("/") or "tierline"
        # A process's own files (the Telegram sending journal) are kept in TIERLINE_STATE_DIR,
        # by default the working directory.
        state = Path(os.environ.get("TIERLINE_STATE_DIR") or ".")
        self.path = state / f"tierline-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.pg"

    # ---- opening and closing ------------------------------------------------------------

    @classmethod
    async def open(cls, location: Path | str) -> PostgresDatabase:
        url = str(location)
        shown = redact(url)
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=POOL_SIZE, server_settings={"timezone": "UTC"}
            )
        except asyncpg.InvalidCatalogNameError:
            name = urlsplit(url).path.strip("/")
            raise StorageError(
                f"cannot open the database {shown}: it does not exist (create it first:"
                f" createdb {name})"
            ) from None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            # What the server or the network says (no applicant's data is involved here).
            raise StorageError(f"cannot open the database {shown}: {exc}") from None
        try:
            await migrate(pool, shown)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool)

    async def close(self) -> None:
        if self._open:
            self._open = False
            for listening in self._listeners:
                await listening.close()
            self._listeners.clear()
            await self._pool.close()

    async def __aenter__(self) -> PostgresDatabase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if not self._open:
            raise StorageError("the database is closed")

    def _held(self) -> _Held | None:
        held = _HELD.get()
        return held if held is not None and held.db is self else None

    # ---- rows kept in memory --------------------------------------------------------------

    keeps_rows = False  # replicas write at any moment: every turn reads its row
    holds = True  # a conversation is held across replicas (`hold`)

    def watch(
        self,
        table: str,
        forget: Callable[[], None],
        own: Collection[str] = (),
        guarded: Collection[str] = (),
    ) -> None:
        """Nothing is kept between turns on a server database, so nothing is forgotten."""

    # ---- holding a conversation ----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def hold(self, key: ConversationKey) -> AsyncIterator[None]:
        async with self._hold(key, wait=True) as held:
            assert held
            yield

    @contextlib.asynccontextmanager
    async def try_hold(self, key: ConversationKey) -> AsyncIterator[bool]:
        async with self._hold(key, wait=False) as held:
            yield held

    @contextlib.asynccontextmanager
    async def _hold(self, key: ConversationKey, *, wait: bool) -> AsyncIterator[bool]:
        self._check_open()
        name = _lock_name(key)
        held = self._held()
        if held is not None:
            if name in held.names:  # a turn inside a turn (a signal): already held
                yield True
                return
            async with self._inner(held, name, wait=wait) as got:
                yield got
            return
        async with self._locked(name, wait=wait) as (conn, got):
            if not got:
                yield False
                return
            token = _HELD.set(_Held(self, conn, asyncio.Lock(), {name}))
            try:
                yield True
            finally:
                _HELD.reset(token)

    @contextlib.asynccontextmanager
    async def _inner(self, held: _Held, name: str, *, wait: bool) -> AsyncIterator[bool]:
        """Another conversation held inside a held one: locked on the same connection
        (its reads and commit go there), unlocked when the inner block ends."""
        try:
            async with held.lock:
                got = await _advisory_lock(held.conn, name, wait=wait)
        except Exception as exc:
            raise StorageError(f"the database cannot be reached: {_describe(exc)}") from None
        if not got:
            yield False
            return
        held.names.add(name)
        try:
            yield True
        finally:
            held.names.discard(name)
            with contextlib.suppress(Exception):  # a broken connection drops it anyway
                async with held.lock:
                    await held.conn.execute(
                        "SELECT pg_advisory_unlock(hashtextextended($1, 0))", name
                    )

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        self._check_open()
        async with self._locked(f"exclusive\x1f{name}", wait=False) as (_conn, got):
            yield got

    @contextlib.asynccontextmanager
    async def _locked(
        self, name: str, *, wait: bool
    ) -> AsyncIterator[tuple[asyncpg.Connection, bool]]:
        """A connection of the pool, and whether it took the advisory lock `name` (waiting
        for it when `wait`); the lock goes with the connection back to the pool."""
        try:
            conn = await self._pool.acquire()
        except Exception as exc:
            raise StorageError(f"the database cannot be reached: {_describe(exc)}") from None
        try:
            try:
                got = await _advisory_lock(conn, name, wait=wait)
            except Exception as exc:
                raise StorageError(f"the database cannot be reached: {_describe(exc)}") from None
            yield conn, got
        finally:
            # Releasing the connection to the pool resets it, which drops its advisory locks
            # (`pg_advisory_unlock_all`); a broken connection is closed, which drops them too.
            await self._pool.release(conn)

    # ---- reading ------------------------------------------------------------------------

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        rows = await self._read(sql, params, one=True)
        return rows

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        rows: list[Any] = await self._read(sql, params, one=False)
        return rows

    async def _read(self, sql: str, params: Params, *, one: bool) -> Any:
        self._check_open()
        statement, args = postgres_sql(sql), _args(params)
        held = self._held()
        try:
            if held is not None:
                async with held.lock:
                    if one:
                        return await held.conn.fetchrow(statement, *args)
                    return await held.conn.fetch(statement, *args)
            if one:
                return await self._pool.fetchrow(statement, *args)
            return await self._pool.fetch(statement, *args)
        except Exception as exc:
            raise StorageError(f"database read failed: {_describe(exc)}") from None

    # ---- writing ------------------------------------------------------------------------

    async def commit(self, writes: Iterable[Write]) -> list[int]:
        self._check_open()
        group = tuple(writes)
        held = self._held()
        if held is not None:
            async with held.lock:
                return await self._commit_on(held.conn, group)
        try:
            conn = await self._pool.acquire()
        except Exception as exc:
            raise StorageError(f"the database could not commit: {_describe(exc)}") from None
        try:
            return await self._commit_on(conn, group)
        finally:
            await self._pool.release(conn)

    async def _commit_on(self, conn: Any, group: Sequence[Write]) -> list[int]:
        for attempt in range(SERIALIZATION_ATTEMPTS):
            try:
                async with conn.transaction(isolation="serializable"):
                    counts = []
                    for w in group:
                        status = await conn.execute(postgres_sql(w.sql), *_args(w.params))
                        count = _rowcount(status)
                        if w.expect_rows is not None and count != w.expect_rows:
                            raise Conflict(f"expected {w.expect_rows} row(s), touched {count}")
                        counts.append(count)
                    if any(_queues_a_notice(w) for w in group):
                        # Delivered to the listeners when (and only if) this commits.
                        await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
                    for w, count in zip(group, counts, strict=True):
                        if count > 0 and w.sql.startswith(_RECEIVE):
                            update_id, chat_id = w.params[0], w.params[1]  # type: ignore[index]
                            await conn.execute(
                                "SELECT pg_notify($1, $2)",
                                INBOX_CHANNEL,
                                f"{chat_id}:{update_id}",
                            )
            except Conflict:
                raise
            except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError):
                self.retries += 1
                await asyncio.sleep(0.001 * attempt)
                continue
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
                log.error("commit failed: %s", _describe(exc))
                raise StorageError(f"the database could not commit: {_describe(exc)}") from None
            except Exception as exc:  # the statement was refused: this caller's doing
                log.error("a group of writes was refused: %s", _describe(exc))
                raise StorageError(f"the database refused a write: {_describe(exc)}") from None
            self.commits += 1
            return counts
        log.warning("writes refused %d times as not serializable", SERIALIZATION_ATTEMPTS)
        raise Conflict("the transaction kept conflicting with others")

    # ---- wake-ups between processes ------------------------------------------------------

    async def on_outbox(self, wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """LISTEN on a connection of its own: every commit that queues a notice, in any
        process on this database, sends a NOTIFY that calls `wake` here."""
        return await self._listen(OUTBOX_CHANNEL, lambda *_: wake(), "notices")

    async def on_inbox(self, wake: Callable[[int, int], None]) -> Callable[[], Awaitable[None]]:
        """LISTEN on a connection of its own: every update newly stored in the Telegram
        inbox, by any process on this database, calls `wake(chat, update_id)` here. What
        was stored while the connection was lost is found by the replicas' sweep."""

        def heard(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            chat, _, update = payload.partition(":")
            with contextlib.suppress(ValueError):
                wake(int(chat), int(update))

        return await self._listen(INBOX_CHANNEL, heard, "updates")

    async def _listen(
        self, channel: str, callback: Callable[..., None], what: str
    ) -> Callable[[], Awaitable[None]]:
        """LISTEN on `channel` on a connection of its own, as long as the database is open:
        a connection lost (a restart of the server, a network cut) is opened again, with
        growing pauses, and `callback` is called once then with no payload, since what was
        sent meanwhile was not heard."""
        self._check_open()
        listening = _Listening(self.url, channel, callback, what)
        await listening.start()
        self._listeners.append(listening)

        async def stop() -> None:
            if listening in self._listeners:
                self._listeners.remove(listening)
                await listening.close()

        return stop

    # ---- for the tools (migrate, copy) ---------------------------------------------------

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_version")
        return int(row["v"] or 0) if row is not None else 0

    @property
    def pool(self) -> Any:
        """The asyncpg pool (for tests and tools that need PostgreSQL itself)."""
        return self._pool

    async def tables(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT c.relname AS name FROM pg_class c"
            " WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace"
            " AND c.relname != 'schema_version' ORDER BY c.oid"
        )
        return [r["name"] for r in rows]

    async def columns(self, table: str) -> tuple[list[str], list[str]]:
        rows = await self.fetchall(
            "SELECT a.attname AS name, a.attnum = ANY (i.indkey) AS in_key,"
            " array_position(i.indkey::int2[], a.attnum) AS key_position"
            " FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid"
            " AND i.indisprimary WHERE a.attrelid = ?::regclass AND a.attnum > 0"
            " AND NOT a.attisdropped ORDER BY a.attnum",
            (table,),
        )
        names = [r["name"] for r in rows]
        key = [r["name"] for r in sorted(rows, key=lambda r: r["key_position"] or 0) if r["in_key"]]
        return names, key

    async def after_copy(self) -> None:
        """Identity columns go on after the largest id copied."""
        rows = await self.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        )
        for r in rows:
            table, column = r["table_name"], r["column_name"]
            await self.fetchone(
                f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX({column}), 1),"
                f" MAX({column}) IS NOT NULL) FROM {table}",
                (table, column),
            )


def _queues_a_notice(write: Write) -> bool:
    return write.sql.startswith(_ENQUEUE)


_ENQUEUE = "INSERT INTO outbox "  # how `bot.storage.outbox.enqueue` begins
_RECEIVE = "INSERT INTO telegram_inbox (update_id, chat_id, payload,"  # `inbox.receive`


async def _advisory_lock(conn: Any, name: str, *, wait: bool) -> bool:
    if wait:
        await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", name)
        return True
    got = await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", name)
    return bool(got)


def _lock_name(key: ConversationKey) -> str:
    return f"conversation\x1f{key.channel}\x1f{key.user_id}"


def _args(params: Params) -> Sequence[Any]:
    if isinstance(params, Mapping):
        raise StorageError("named parameters are not used with PostgreSQL")
    return params


def _rowcount(status: str) -> int:
    """The rows a command touched, from its status tag (`INSERT 0 1`, `UPDATE 3`)."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else -1


def _describe(exc: BaseException) -> str:
    """What went wrong, without the values involved (a message may quote them)."""
    if isinstance(exc, UnicodeError) or isinstance(exc.__cause__, UnicodeError):
        return f"{type(exc).__name__}: a value is not valid text"
    if isinstance(exc, asyncpg.PostgresError):
        return f"{type(exc).__name__} (SQLSTATE {exc.sqlstate})"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return type(exc).__name__


# ---- one dialect for both ------------------------------------------------------------------

_PLACEHOLDER_OR_STRING = re.compile(r"'(?:[^']|'')*'|\?")
_IS_PARAM = re.compile(r"\bIS \?")
_INSERT_OR_IGNORE = re.compile(r"^(\s*)INSERT OR IGNORE INTO\b")


@lru_cache(maxsize=2048)
def postgres_sql(sql: str) -> str:
    """A statement written for SQLite, as PostgreSQL reads it: `?` placeholders numbered
    (`$1`, `$2`…), `IS ?` as `IS NOT DISTINCT FROM`, `INSERT OR IGNORE` as `ON CONFLICT DO
    NOTHING`. Everything else the ports write is read the same by both."""
    text = _IS_PARAM.sub("IS NOT DISTINCT FROM ?", sql)
    if _INSERT_OR_IGNORE.match(text):
        text = _INSERT_OR_IGNORE.sub(r"\1INSERT INTO", text, count=1).rstrip() + (
            " ON CONFLICT DO NOTHING"
        )
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) != "?":
            return match.group(0)  # a string literal: left as it is
        count += 1
        return f"${count}"

    return _PLACEHOLDER_OR_STRING.sub(number, text)


_ROWID = re.compile(r"\bid\s+INTEGER PRIMARY KEY\b")
_INTEGER_KEY = re.compile(r"\bINTEGER PRIMARY KEY\b")


def postgres_ddl(sql: str) -> list[str]:
    """A migration's statements as PostgreSQL reads them: SQLite's row ids as identity
    columns, every integer 64 bits wide (Telegram's chat ids do not fit in 32), text
    compared byte by byte as SQLite does (`COLLATE "C"`: stored instants are ISO text,
    compared and sorted as text), and no `WITHOUT ROWID`."""
    out = []
    for statement in _statements(sql):
        text = statement.replace("WITHOUT ROWID", "")
        text = _ROWID.sub("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", text)
        text = _INTEGER_KEY.sub("BIGINT PRIMARY KEY", text)
        text = re.sub(r"\bINTEGER\b", "BIGINT", text)
        if text.lstrip().startswith(("CREATE TABLE", "ALTER TABLE")):
            text = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', text)
        out.append(text.strip())
    return out


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


async def migrate(pool: Any, shown: str) -> int:
    """Bring the schema to the latest version, one process at a time (an advisory lock),
    all pending versions in one transaction; the version it is at now."""
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                current = await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0
                if current > latest_version():
                    raise StorageError(
                        f"{shown} has schema version {current}, newer than this Tierline"
                        f" understands ({latest_version()}); upgrade Tierline or use another"
                        " database"
                    )
                for migration in sorted(MIGRATIONS, key=lambda m: m.version):
                    if migration.version <= current:
                        continue
                    for statement in postgres_ddl(migration.sql):
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_version (version, name, applied_at)"
                        " VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        datetime.now(UTC).isoformat(timespec="seconds"),
                    )
                    log.info(
                        "database migrated to version %d: %s", migration.version, migration.name
                    )
                    current = migration.version
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(f"migrating {shown} failed: {_describe(exc)}") from None
    return int(current)
