"""Copy a whole Tierline database into another, table by table (`tierline copy`): from the
SQLite file of a deployment to the PostgreSQL database it moves to, or back.

Both are opened (and so migrated) to the same schema version first, and the target must
hold no rows yet. Every table is copied, rows with their ids, in the order the tables were
made (so a row is copied after those it refers to), in key order and in chunks, so memory
holds one chunk at a time: conversations where they stand, their transcripts, bookings,
callbacks, requests, live chats, the Telegram inbox and every notice the outbox has not
delivered yet. Then the counts of both sides are compared, table by table.

The source must not change meanwhile: stop the bot (or every replica) before copying.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from bot.storage.database import Database, StorageError, Write

CHUNK_ROWS = 2000  # rows read at a time
MAX_PARAMS = 30_000  # parameters in one INSERT (SQLite and PostgreSQL allow 32,766)


class Copied(Struct, frozen=True):
    table: str
    rows: int


async def copy_database(
    source: Database, target: Database, *, progress: Callable[[str, int], None] | None = None
) -> list[Copied]:
    """Copy every row of `source` into the empty `target`; each table and its row count."""
    version, target_version = await source.schema_version(), await target.schema_version()
    if version != target_version:
        raise StorageError(
            f"the source is at schema version {version}, the target at {target_version}"
        )
    tables = await source.tables()
    missing = set(tables) - set(await target.tables())
    if missing:
        raise StorageError(f"the target has no table {', '.join(sorted(missing))}")
    for table in tables:
        if await _count(target, table):
            raise StorageError(f"the target is not empty: {table} holds rows")
    copied = []
    for table in tables:
        rows = await _copy_table(source, target, table)
        if progress is not None:
            progress(table, rows)
        copied.append(Copied(table, rows))
    await target.after_copy()
    for done in copied:
        there = await _count(target, done.table)
        if there != done.rows:
            raise StorageError(f"{done.table}: {done.rows} row(s) read, {there} in the target")
    return copied


async def _count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"]) if row is not None else 0


async def _copy_table(source: Database, target: Database, table: str) -> int:
    columns, key = await source.columns(table)
    if not key:
        raise StorageError(f"{table} has no primary key to copy it in order")
    names = ", ".join(columns)
    keys = ", ".join(key)
    first = f"SELECT {names} FROM {table} ORDER BY {keys} LIMIT ?"
    after = (
        f"SELECT {names} FROM {table} WHERE ({keys}) > ({', '.join('?' * len(key))})"
        f" ORDER BY {keys} LIMIT ?"
    )
    per_insert = max(1, min(500, MAX_PARAMS // len(columns)))
    row_marks = "(" + ", ".join("?" * len(columns)) + ")"
    total = 0
    last: tuple[object, ...] | None = None
    while True:
        if last is None:
            rows = await source.fetchall(first, (CHUNK_ROWS,))
        else:
            rows = await source.fetchall(after, (*last, CHUNK_ROWS))
        if not rows:
            return total
        writes = []
        for start in range(0, len(rows), per_insert):
            part = rows[start : start + per_insert]
            values = [value for row in part for value in tuple(row)]
            writes.append(
                Write(
                    f"INSERT INTO {table} ({names}) VALUES " + ", ".join([row_marks] * len(part)),
                    values,
                    expect_rows=len(part),
                )
            )
        await target.commit(writes)
        total += len(rows)
        final = rows[-1]
        last = tuple(final[name] for name in key)
