"""The durable outbox: notices for a user (callback confirmations, reminders, outcomes)
written in the same transaction as the change that caused them, and delivered by the
user's channel exactly once. The console pulls them at the user's next turn; Telegram
pushes them and marks each delivered only after Telegram accepted it.

A notice is written in every language (`Reply.translations`); `due` hands over the one of
the language the applicant's conversation was last spoken to in at the time it is sent, so
a reminder booked in English reaches someone who has since switched to Spanish in Spanish.

A push channel marks a notice attempted (`mark_attempted`) when it may have reached the
user without being confirmed (the answer never came, the process died while sending it;
see `bot.storage.sending`) or when the channel refused it for good: `due` never offers it
again, so it is never sent twice. `clear_attempt` makes one due again."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from msgspec import Struct

from bot.model import Button, ConversationKey, Reply
from bot.storage.database import Database, Write
from bot.storage.timefmt import to_db


class Notice(Struct, frozen=True):
    id: int
    key: ConversationKey
    kind: str
    reply: Reply


def enqueue(
    key: ConversationKey,
    kind: str,
    reply: Reply,
    *,
    now: datetime,
    due_at: datetime | None = None,
    delivered: bool = False,
) -> Write:
    """The write that queues `reply` for `key`, to be delivered from `due_at` (default now).
    `delivered`: the notice is shown in the reply of the turn that writes it (console), so
    it is recorded as delivered in the same commit."""
    buttons = json.dumps([b.as_json() for b in reply.buttons])
    translations = (
        json.dumps({code: r.as_json() for code, r in reply.translations})
        if reply.translations
        else None
    )
    return Write(
        "INSERT INTO outbox (channel, user_id, kind, text, buttons, due_at, created_at,"
        " delivered_at, translations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key.channel,
            key.user_id,
            kind,
            reply.text,
            buttons,
            to_db(due_at or now),
            to_db(now),
            to_db(now) if delivered else None,
            translations,
        ),
    )


def _sent(row: Any) -> Reply:
    """The notice in the language of the applicant now (its conversation's), else as
    written."""
    if row["translations"] and row["language"]:
        found = json.loads(row["translations"]).get(row["language"])
        if found is not None:
            return Reply(found["text"], tuple(Button(**b) for b in found["buttons"]))
    return Reply(row["text"], tuple(Button(**b) for b in json.loads(row["buttons"])))


async def due(
    db: Database, channel: str, now: datetime, *, user_id: str | None = None, limit: int = 100
) -> list[Notice]:
    """Undelivered notices of `channel` (optionally one user) that are due at `now`, oldest
    first."""
    sql = (
        "SELECT o.id, o.channel, o.user_id, o.kind, o.text, o.buttons, o.translations,"
        " c.language FROM outbox o LEFT JOIN conversations c"
        " ON c.channel = o.channel AND c.user_id = o.user_id"
        " WHERE o.channel = ? AND o.delivered_at IS NULL AND o.due_at <= ?"
        " AND o.attempted_at IS NULL"
    )
    params: list[object] = [channel, to_db(now)]
    if user_id is not None:
        sql += " AND o.user_id = ?"
        params.append(user_id)
    sql += " ORDER BY o.due_at, o.id LIMIT ?"
    params.append(limit)
    rows = await db.fetchall(sql, params)
    return [
        Notice(
            row["id"],
            ConversationKey(row["channel"], row["user_id"]),
            row["kind"],
            _sent(row),
        )
        for row in rows
    ]


def mark_delivered(notice_id: int, now: datetime) -> Write:
    """The write that marks a notice delivered; it conflicts if it was delivered already."""
    return Write(
        "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
        (to_db(now), notice_id),
        expect_rows=1,
    )


def mark_attempted(notice_id: int, now: datetime) -> Write:
    """The write that records a notice as sent without confirmation (or refused for good),
    so it is not sent again; it leaves a delivered or already attempted notice as it is."""
    return Write(
        "UPDATE outbox SET attempted_at = ? WHERE id = ? AND delivered_at IS NULL"
        " AND attempted_at IS NULL",
        (to_db(now), notice_id),
    )


def clear_attempt(notice_id: int) -> Write:
    """The write that makes a notice due again after a send known not to have arrived."""
    return Write(
        "UPDATE outbox SET attempted_at = NULL WHERE id = ? AND delivered_at IS NULL",
        (notice_id,),
    )


def claim(notice_id: int, now: datetime, *, skip_locked: bool = False) -> Write:
    """The write that claims a due notice before it is sent (replicas of a push channel on
    one server database): it marks it attempted, touching one row, or none when another
    process claimed it (or it was delivered) first. Once sent, `mark_delivered`; when
    certainly not sent, `clear_attempt`; when the process dies in between, it stays
    attempted and is never sent again. On PostgreSQL (`skip_locked`) a row another
    transaction is claiming now is skipped rather than waited for."""
    if skip_locked:
        return Write(
            "UPDATE outbox SET attempted_at = ? WHERE id IN (SELECT id FROM outbox"
            " WHERE id = ? AND delivered_at IS NULL AND attempted_at IS NULL"
            " FOR UPDATE SKIP LOCKED)",
            (to_db(now), notice_id),
        )
    return mark_attempted(notice_id, now)


async def due_users(db: Database, channel: str, now: datetime, *, limit: int) -> list[str]:
    """The users of `channel` with a notice due at `now`, the longest waiting first."""
    rows = await db.fetchall(
        "SELECT user_id FROM outbox WHERE channel = ? AND delivered_at IS NULL"
        " AND due_at <= ? AND attempted_at IS NULL GROUP BY user_id ORDER BY MIN(due_at)"
        " LIMIT ?",
        (channel, to_db(now), limit),
    )
    return [row["user_id"] for row in rows]


class SqliteOutbox:
    """The outbox port over one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    enqueue = staticmethod(enqueue)
    mark_delivered = staticmethod(mark_delivered)
    mark_attempted = staticmethod(mark_attempted)
    clear_attempt = staticmethod(clear_attempt)

    def claim(self, notice_id: int, now: datetime) -> Write:
        return claim(notice_id, now, skip_locked=self._db.backend == "postgresql")

    async def due(
        self, channel: str, now: datetime, *, user_id: str | None = None, limit: int = 100
    ) -> list[Notice]:
        return await due(self._db, channel, now, user_id=user_id, limit=limit)

    async def due_users(self, channel: str, now: datetime, *, limit: int = 10_000) -> list[str]:
        return await due_users(self._db, channel, now, limit=limit)

    async def backlog(self, channel: str, now: datetime) -> int:
        """How many notices of `channel` are due at `now` and not sent yet."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE channel = ? AND delivered_at IS NULL"
            " AND attempted_at IS NULL AND due_at <= ?",
            (channel, to_db(now)),
        )
        return int(row["n"]) if row is not None else 0
