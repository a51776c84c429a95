"""Tier 2 officer callbacks in SQLite: capacity counts, the booking, moving and cancelling
writes, reminders, and the reads of the tiers and the staff desk.

Capacity is enforced in SQL, once (`_ROOM`), not in Python: a booking is an `INSERT ...
SELECT ... WHERE (count at that slot) < capacity` expected to touch one row, and a move an
`UPDATE ... WHERE` the same condition. When two bookings race for the last place, one of
them touches none, its whole turn is rolled back, and the engine runs it again on fresh
data, where the slot shows as full.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo

from bot.model import ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db
from flows.callbacks import CallbackRecord

_OPEN = "status IN ('booked', 'taken')"
_ROOM = f"(SELECT COUNT(*) FROM callbacks WHERE slot_at = ? AND {_OPEN}) < ?"


def reminder_kind(reference: str) -> str:
    """The outbox kind of a callback's reminder (so it can be withdrawn)."""
    return f"callback.reminder:{reference}"


class SqliteCallbacks:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    # ---- reads ----------------------------------------------------------------------------

    async def booked_counts(self, start: datetime, end: datetime) -> dict[datetime, int]:
        """How many open callbacks each slot between `start` and `end` holds."""
        rows = await self._db.fetchall(
            "SELECT slot_at, COUNT(*) AS n FROM callbacks WHERE slot_at BETWEEN ? AND ?"
            f" AND {_OPEN} GROUP BY slot_at",
            (to_db(start), to_db(end)),
        )
        return {from_db(r["slot_at"]).astimezone(self._tz): r["n"] for r in rows}

    async def count_at(self, slot: datetime) -> int:
        row = await self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM callbacks WHERE slot_at = ? AND {_OPEN}", (to_db(slot),)
        )
        return int(row["n"]) if row else 0

    async def get(self, reference: str) -> CallbackRecord | None:
        # References are stored upper-case; staff may type them in any case.
        row = await self._db.fetchone(
            "SELECT * FROM callbacks WHERE reference = ?", (reference.strip().upper(),)
        )
        return None if row is None else self._record(row)

    async def open_of(self, key: ConversationKey) -> list[CallbackRecord]:
        """The conversation's open callbacks, newest first."""
        rows = await self._db.fetchall(
            f"SELECT * FROM callbacks WHERE channel = ? AND user_id = ? AND {_OPEN}"
            " ORDER BY created_at DESC, reference DESC",
            (key.channel, key.user_id),
        )
        return [self._record(r) for r in rows]

    async def queue(self, until: datetime | None = None) -> list[CallbackRecord]:
        """Every open callback (due by `until`, when given), soonest first."""
        if until is None:
            rows = await self._db.fetchall(
                f"SELECT * FROM callbacks WHERE {_OPEN} ORDER BY slot_at"
            )
        else:
            rows = await self._db.fetchall(
                f"SELECT * FROM callbacks WHERE {_OPEN} AND slot_at <= ? ORDER BY slot_at",
                (to_db(until),),
            )
        return [self._record(r) for r in rows]

    # ---- writes ---------------------------------------------------------------------------

    def book(self, callback: CallbackRecord, capacity: int, now: datetime) -> Write:
        """Insert a callback only while its slot has room (touches 1 row, or 0 when full)."""
        c, slot = callback, to_db(callback.slot_at)
        return Write(
            "INSERT INTO callbacks (reference, channel, user_id, issue, urgent, urgency_rule,"
            " inperson_category, inperson_justified, inperson_rule, phone, zip_code, receipt,"
            " slot_at, status, attempts, created_at, updated_at, role, triage_rule,"
            " escalation_reason, evidence)"
            " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'booked', 0, ?, ?, ?, ?, ?, ?"
            f" WHERE {_ROOM}",
            (
                c.reference,
                c.channel,
                c.user_id,
                c.issue,
                int(c.urgent),
                c.urgency_rule,
                c.inperson_category,
                None if c.inperson_justified is None else int(c.inperson_justified),
                c.inperson_rule,
                c.phone,
                c.zip_code,
                c.receipt,
                slot,
                to_db(now),
                to_db(now),
                c.role,
                c.triage_rule,
                c.escalation_reason,
                c.evidence,
                slot,
                capacity,
            ),
            expect_rows=1,
        )

    def move(
        self,
        reference: str,
        slot: datetime,
        capacity: int,
        now: datetime,
        *,
        attempts: int | None = None,
    ) -> Write:
        """Move an open callback to `slot` (booked again, no officer) only while that slot
        has room; with `attempts`, count an unanswered call as well."""
        return Write(
            "UPDATE callbacks SET slot_at = ?, status = 'booked',"
            " attempts = COALESCE(?, attempts), taken_by = NULL, updated_at = ?"
            f" WHERE reference = ? AND {_OPEN} AND {_ROOM}",
            (to_db(slot), attempts, to_db(now), reference, to_db(slot), capacity),
            expect_rows=1,
        )

    def cancel(self, reference: str, now: datetime) -> Write:
        """Cancel a callback no officer has taken yet."""
        return Write(
            "UPDATE callbacks SET status = 'cancelled', updated_at = ?"
            " WHERE reference = ? AND status = 'booked'",
            (to_db(now), reference),
            expect_rows=1,
        )

    def take(self, callback: CallbackRecord, staff_id: str, now: datetime) -> Write:
        """An officer takes the callback; conflicts when it changed since it was read."""
        return Write(
            "UPDATE callbacks SET status = 'taken', taken_by = ?, updated_at = ?"
            " WHERE reference = ? AND status = ?",
            (staff_id, to_db(now), callback.reference, callback.status),
            expect_rows=1,
        )

    def close(self, callback: CallbackRecord, status: str, now: datetime) -> Write:
        """Record the outcome; conflicts when the callback changed since it was read."""
        return Write(
            "UPDATE callbacks SET status = ?, updated_at = ? WHERE reference = ?"
            " AND status = ? AND attempts = ?",
            (status, to_db(now), callback.reference, callback.status, callback.attempts),
            expect_rows=1,
        )

    def release(self, callback: CallbackRecord, staff_id: str, now: datetime) -> Write:
        """The officer who took it puts it back in the queue (booked, no officer)."""
        return Write(
            "UPDATE callbacks SET status = 'booked', taken_by = NULL, updated_at = ?"
            " WHERE reference = ? AND status = 'taken' AND taken_by = ?",
            (to_db(now), callback.reference, staff_id),
            expect_rows=1,
        )

    def hand_over(self, callback: CallbackRecord, staff_id: str, to: str, now: datetime) -> Write:
        """The officer who took it passes it to another officer, still taken."""
        return Write(
            "UPDATE callbacks SET taken_by = ?, updated_at = ?"
            " WHERE reference = ? AND status = 'taken' AND taken_by = ?",
            (to, to_db(now), callback.reference, staff_id),
            expect_rows=1,
        )

    def drop_reminder(self, reference: str) -> Write:
        """Withdraw a reminder not yet delivered (the callback moved, closed or was
        cancelled)."""
        return Write(
            "DELETE FROM outbox WHERE kind = ? AND delivered_at IS NULL",
            (reminder_kind(reference),),
        )

    def _record(self, row: sqlite3.Row) -> CallbackRecord:
        justified = row["inperson_justified"]
        return CallbackRecord(
            reference=row["reference"],
            channel=row["channel"],
            user_id=row["user_id"],
            issue=row["issue"],
            urgent=bool(row["urgent"]),
            urgency_rule=row["urgency_rule"],
            inperson_category=row["inperson_category"],
            inperson_justified=None if justified is None else bool(justified),
            inperson_rule=row["inperson_rule"],
            phone=row["phone"],
            zip_code=row["zip_code"],
            receipt=row["receipt"],
            slot_at=from_db(row["slot_at"]).astimezone(self._tz),
            status=row["status"],
            attempts=int(row["attempts"]),
            taken_by=row["taken_by"],
            created_at=from_db(row["created_at"]).astimezone(self._tz),
            role=row["role"],
            triage_rule=row["triage_rule"],
            escalation_reason=row["escalation_reason"],
            evidence=row["evidence"],
        )
