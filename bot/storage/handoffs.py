"""Live operator chats in SQLite: the queue entries (with their assignment to an operator)
and every relayed message.

Each change carries its precondition in SQL: an operator is assigned only to an entry still
waiting, an entry is closed only while it is open, and an operator's message is written only
while the chat is live with that operator, so a chat handed back or left meanwhile makes
the whole commit a `Conflict` and nothing is sent. A relayed message may carry the id its
channel gave it (`source`); the same source is never written twice, so an input delivered
twice after a restart is relayed once.

What an operator reads is queued in the outbox under `operator_inbox(staff_id)`: their own
Telegram chat for a staff member on Telegram (`telegram:<user id>`), else the `staff`
channel that `tierline staff chat` pulls from.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo

from bot.model import TELEGRAM, ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db
from flows.handoff import APPLICANT, LIVE, OPERATOR, WAITING, Handoff, RelayedMessage

STAFF_CHANNEL = "staff"  # the outbox channel of operators working from the console
_OPEN = f"status IN ('{WAITING}', '{LIVE}')"


def operator_inbox(staff_id: str) -> ConversationKey:
    """Where the messages for operator `staff_id` are queued in the outbox."""
    channel, _, user_id = staff_id.partition(":")
    if channel == TELEGRAM and user_id.isdigit():
        return ConversationKey(TELEGRAM, user_id)
    return ConversationKey(STAFF_CHANNEL, staff_id)


def handoff_kind(reference: str) -> str:
    """The outbox kind of everything one live chat sends (to either side)."""
    return f"handoff:{reference}"


class SqliteHandoffs:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    # ---- reads ----------------------------------------------------------------------------

    async def get(self, reference: str) -> Handoff | None:
        row = await self._db.fetchone("SELECT * FROM handoffs WHERE reference = ?", (reference,))
        return None if row is None else self._entry(row)

    async def waiting(self) -> list[Handoff]:
        """Entries waiting for an operator, the longest waiting first."""
        rows = await self._db.fetchall(
            "SELECT * FROM handoffs WHERE status = ? ORDER BY id", (WAITING,)
        )
        return [self._entry(r) for r in rows]

    async def waiting_count(self) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM handoffs WHERE status = ?", (WAITING,)
        )
        return int(row["n"]) if row else 0

    async def ahead_of(self, reference: str) -> int:
        """How many entries have waited longer than `reference`."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM handoffs WHERE status = ?"
            " AND id < (SELECT id FROM handoffs WHERE reference = ?)",
            (WAITING, reference),
        )
        return int(row["n"]) if row else 0

    async def live_with(self, staff_id: str) -> list[Handoff]:
        """The chats live with one operator, the latest picked up first."""
        rows = await self._db.fetchall(
            "SELECT * FROM handoffs WHERE status = ? AND operator = ? ORDER BY picked_at DESC, id"
            " DESC",
            (LIVE, staff_id),
        )
        return [self._entry(r) for r in rows]

    async def messages(self, reference: str) -> list[RelayedMessage]:
        """Everything relayed in one chat, in order."""
        rows = await self._db.fetchall(
            "SELECT * FROM handoff_messages WHERE reference = ? ORDER BY id", (reference,)
        )
        return [
            RelayedMessage(
                r["id"],
                r["reference"],
                from_db(r["at"]).astimezone(self._tz),
                r["sender"],
                r["text"],
                r["staff_id"],
            )
            for r in rows
        ]

    async def relayed(self, source: str) -> bool:
        """Whether a message with this channel id was relayed already."""
        row = await self._db.fetchone("SELECT 1 FROM handoff_messages WHERE source = ?", (source,))
        return row is not None

    # ---- writes ---------------------------------------------------------------------------

    def open(
        self,
        reference: str,
        key: ConversationKey,
        *,
        issue: str | None,
        receipt: str | None,
        came_from: str,
        now: datetime,
    ) -> Write:
        return Write(
            "INSERT INTO handoffs (reference, channel, user_id, status, issue, receipt,"
            " came_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (reference, key.channel, key.user_id, WAITING, issue, receipt, came_from, to_db(now)),
            expect_rows=1,
        )

    def assign(self, reference: str, staff_id: str, now: datetime) -> Write:
        """An operator picks the chat up; conflicts unless it is still waiting."""
        return Write(
            "UPDATE handoffs SET status = ?, operator = ?, picked_at = ?"
            " WHERE reference = ? AND status = ?",
            (LIVE, staff_id, to_db(now), reference, WAITING),
            expect_rows=1,
        )

    def close(self, reference: str, status: str, rule: str, now: datetime) -> Write:
        """The chat ends (`status` says how, `rule` why); conflicts unless it was open."""
        return Write(
            f"UPDATE handoffs SET status = ?, ended_at = ?, end_rule = ?"
            f" WHERE reference = ? AND {_OPEN}",
            (status, to_db(now), rule, reference),
            expect_rows=1,
        )

    def applicant_message(
        self, reference: str, text: str, now: datetime, *, source: str | None = None
    ) -> Write:
        """What the applicant typed, while the chat is open."""
        return Write(
            "INSERT INTO handoff_messages (reference, at, sender, text, source)"
            f" SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM handoffs WHERE reference = ?"
            f" AND {_OPEN})",
            (reference, to_db(now), APPLICANT, text, source, reference),
            expect_rows=1,
        )

    def operator_message(
        self,
        reference: str,
        staff_id: str,
        text: str,
        now: datetime,
        *,
        source: str | None = None,
        while_open: bool = False,
    ) -> Write:
        """What the operator wrote, only while the chat is live with that operator (or, with
        `while_open`, for the closing note written as the chat ends)."""
        live = _OPEN if while_open else f"status = '{LIVE}'"
        return Write(
            "INSERT INTO handoff_messages (reference, at, sender, staff_id, text, source)"
            " SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM handoffs WHERE reference = ?"
            f" AND {live} AND operator = ?)"
            " AND NOT EXISTS (SELECT 1 FROM handoff_messages WHERE source = ?)",
            (reference, to_db(now), OPERATOR, staff_id, text, source, reference, staff_id, source),
            expect_rows=1,
        )

    def _entry(self, row: sqlite3.Row) -> Handoff:
        def at(name: str) -> datetime | None:
            value = row[name]
            return None if value is None else from_db(value).astimezone(self._tz)

        created = at("created_at")
        assert created is not None
        return Handoff(
            reference=row["reference"],
            channel=row["channel"],
            user_id=row["user_id"],
            status=row["status"],
            came_from=row["came_from"],
            created_at=created,
            issue=row["issue"],
            receipt=row["receipt"],
            operator=row["operator"],
            picked_at=at("picked_at"),
            ended_at=at("ended_at"),
            end_rule=row["end_rule"],
        )
