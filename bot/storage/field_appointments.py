"""Field-office appointments in SQLite, booked by a Tier 2 officer: how full each office's
slots are, and the booking write, which holds the office's capacity as its precondition."""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.model import ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db


class SqliteFieldAppointments:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    async def bookings(self, office_id: str, since: datetime) -> dict[datetime, int]:
        """How many appointments each slot of the office holds from `since` on."""
        rows = await self._db.fetchall(
            "SELECT at, COUNT(*) AS n FROM field_appointments WHERE office_id = ? AND at >= ?"
            " GROUP BY at",
            (office_id, to_db(since)),
        )
        return {from_db(r["at"]).astimezone(self._tz): r["n"] for r in rows}

    def book(
        self,
        reference: str,
        source_reference: str,
        office_id: str,
        capacity: int,
        at: datetime,
        category: str,
        key: ConversationKey,
        staff_id: str,
        now: datetime,
    ) -> Write:
        """Book the appointment only while the slot has room (a Conflict otherwise)."""
        return Write(
            "INSERT INTO field_appointments (reference, source_reference, office_id, at,"
            " category, channel, user_id, booked_by, created_at)"
            " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM"
            " field_appointments WHERE office_id = ? AND at = ?) < ?",
            (
                reference,
                source_reference,
                office_id,
                to_db(at),
                category,
                key.channel,
                key.user_id,
                staff_id,
                to_db(now),
                office_id,
                to_db(at),
                capacity,
            ),
            expect_rows=1,
        )
