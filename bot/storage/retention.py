"""Retention in SQLite: what the retention policy deletes, counted and deleted in batches.

Each kind of expiring data is found through an index on its time column (migration 4), so
counting or deleting a batch costs what it touches, not the size of the table; a batch is
one small `Write` the caller commits through the shared writer, so a purge never holds the
write lock for longer than one batch.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.storage.database import Database, Write
from bot.storage.timefmt import to_db


class Expiring(StrEnum):
    """The kinds of data the retention policy removes once they are old enough."""

    TURNS = "turns"  # the transcript: what applicants typed or pressed
    TRANSITIONS = "transitions"  # the transition log
    DELIVERED_NOTICES = "delivered_notices"  # outbox rows already delivered
    IDLE_CONVERSATIONS = "idle_conversations"  # conversations untouched for long


# kind -> (table, time column, key columns)
_WHERE: dict[Expiring, tuple[str, str, str]] = {
    Expiring.TURNS: ("turns", "at", "id"),
    Expiring.TRANSITIONS: ("transitions", "at", "id"),
    Expiring.DELIVERED_NOTICES: ("outbox", "delivered_at", "id"),
    Expiring.IDLE_CONVERSATIONS: ("conversations", "updated_at", "channel, user_id"),
}


def count_sql(kind: Expiring) -> str:
    table, column, _ = _WHERE[kind]
    return f"SELECT COUNT(*) AS n FROM {table} WHERE {column} < ?"


def delete_sql(kind: Expiring) -> str:
    table, column, key = _WHERE[kind]
    return (
        f"DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table}"
        f" WHERE {column} < ? ORDER BY {column} LIMIT ?)"
    )


class SqliteRetention:
    """The retention port over one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def count_before(self, kind: Expiring, cutoff: datetime) -> int:
        """How many rows of `kind` are older than `cutoff` (what a purge would delete)."""
        row = await self._db.fetchone(count_sql(kind), (to_db(cutoff),))
        return int(row["n"]) if row else 0

    def delete_before(self, kind: Expiring, cutoff: datetime, limit: int) -> Write:
        """The write that deletes up to `limit` rows of `kind` older than `cutoff`, oldest
        first; its row count says how many went."""
        return Write(delete_sql(kind), (to_db(cutoff), limit))
