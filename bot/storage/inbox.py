"""The Telegram inbox in SQLite: every update the bot fetched (or was posted by webhook),
stored before Telegram is told it arrived, until its turn has committed.

An update is open (`done_at` NULL, the update as Telegram sent it in `payload`) from the
moment it is stored until it is done; the write that makes it done goes into the commit of
its turn. A done update keeps only its id and the time, so that the same update fetched
again (Telegram re-sends what was not confirmed) is recognised and not handled twice;
done rows are pruned after a while (`prune`).

Replicas of the bot on one server database find a chat's oldest open update
(`oldest_open`) and the chats with open updates (`open_chats`, for the sweep that takes
over what a replica that died left open); `telegram_registrations` records what one
replica registered with Telegram (the webhook, the command menu), so that the others do
not register it again.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from bot.storage.database import Database, Write
from bot.storage.timefmt import to_db


class InboxUpdate(Struct, frozen=True):
    """An open update: its id, the chat it belongs to (None: no chat) and its JSON."""

    update_id: int
    chat_id: int | None
    payload: str


class SqliteTelegramInbox:
    """The inbox port over one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def receive(update_id: int, chat_id: int | None, payload: str, now: datetime) -> Write:
        """Store an update; touches no row (count 0) when it is known already, open or done."""
        return Write(
            "INSERT INTO telegram_inbox (update_id, chat_id, payload, received_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
            (update_id, chat_id, payload, to_db(now)),
        )

    @staticmethod
    def skip(update_id: int, now: datetime) -> Write:
        """Record an update that cannot be read as done at once, without its content
        (count 0 when it was known already)."""
        at = to_db(now)
        return Write(
            "INSERT INTO telegram_inbox (update_id, chat_id, payload, received_at, done_at)"
            " VALUES (?, NULL, NULL, ?, ?) ON CONFLICT (update_id) DO NOTHING",
            (update_id, at, at),
        )

    @staticmethod
    def done(update_id: int, now: datetime) -> Write:
        """Mark an update handled and forget its content (no row touched if it was done)."""
        return Write(
            "UPDATE telegram_inbox SET done_at = ?, payload = NULL"
            " WHERE update_id = ? AND done_at IS NULL",
            (to_db(now), update_id),
        )

    @staticmethod
    def prune(before: datetime) -> Write:
        """Forget updates done before `before` (Telegram never re-sends them by then)."""
        return Write(
            "DELETE FROM telegram_inbox WHERE done_at IS NOT NULL AND done_at < ?",
            (to_db(before),),
        )

    async def open_updates(self) -> list[InboxUpdate]:
        """The updates stored and not yet done, in the order Telegram numbered them."""
        rows = await self._db.fetchall(
            "SELECT update_id, chat_id, payload FROM telegram_inbox"
            " WHERE done_at IS NULL ORDER BY update_id"
        )
        return [InboxUpdate(r["update_id"], r["chat_id"], r["payload"] or "{}") for r in rows]

    async def backlog(self) -> int:
        """How many stored updates are not done yet."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM telegram_inbox WHERE done_at IS NULL"
        )
        return int(row["n"]) if row is not None else 0

    async def oldest_open(self, chat_id: int) -> InboxUpdate | None:
        """The chat's oldest update not done yet (replicas handle a chat's updates from
        the inbox, oldest first, under the chat's lock)."""
        row = await self._db.fetchone(
            "SELECT update_id, chat_id, payload FROM telegram_inbox"
            " WHERE chat_id = ? AND done_at IS NULL ORDER BY update_id LIMIT 1",
            (chat_id,),
        )
        if row is None:
            return None
        return InboxUpdate(row["update_id"], row["chat_id"], row["payload"] or "{}")

    async def open_chats(self) -> dict[int, int]:
        """Every chat with updates not done yet, with its oldest such update's id."""
        rows = await self._db.fetchall(
            "SELECT chat_id, MIN(update_id) AS first FROM telegram_inbox"
            " WHERE done_at IS NULL AND chat_id IS NOT NULL GROUP BY chat_id"
        )
        return {int(r["chat_id"]): int(r["first"]) for r in rows}

    async def registered(self, name: str) -> str | None:
        """The fingerprint of what was last registered with Telegram under `name`."""
        row = await self._db.fetchone(
            "SELECT fingerprint FROM telegram_registrations WHERE name = ?", (name,)
        )
        return None if row is None else str(row["fingerprint"])

    @staticmethod
    def register(name: str, fingerprint: str, now: datetime) -> Write:
        """Record what was registered with Telegram under `name`."""
        return Write(
            "INSERT INTO telegram_registrations (name, fingerprint, registered_at)"
            " VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
            " fingerprint = excluded.fingerprint, registered_at = excluded.registered_at",
            (name, fingerprint, to_db(now)),
        )
