"""The staff log in SQLite (`inquiry_attempts`): every take, hand-over, release and call
outcome, with who did it and the officer's note. The desk reads it for an item's history
and its unanswered calls.

And the audit of full views (`staff_views`): each time an officer is shown an item's full
record (phone number, receipt, the applicant's answers), who, what and when, kept here and
never in the log file."""

from __future__ import annotations

from datetime import datetime, tzinfo

from msgspec import Struct

from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db


class Attempt(Struct, frozen=True):
    """One line of an item's history."""

    at: datetime
    outcome: str  # taken, released, handed-over, resolved, appointment, no-answer ...
    staff_id: str
    note: str | None


class View(Struct, frozen=True):
    at: datetime
    staff_id: str
    reference: str
    what: str


class SqliteStaffLog:
    def __init__(self, db: Database, tz: tzinfo | None = None) -> None:
        self._db = db
        self._tz = tz

    def attempt(
        self, reference: str, now: datetime, outcome: str, staff_id: str, note: str | None
    ) -> Write:
        return Write(
            "INSERT INTO inquiry_attempts (reference, at, outcome, staff_id, note)"
            " VALUES (?, ?, ?, ?, ?)",
            (reference, to_db(now), outcome, staff_id, note),
        )

    async def no_answers(self, reference: str) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM inquiry_attempts WHERE reference = ?"
            " AND outcome = 'no-answer'",
            (reference,),
        )
        return int(row["n"]) if row else 0

    async def history(self, reference: str) -> list[Attempt]:
        """The item's log, oldest first."""
        rows = await self._db.fetchall(
            "SELECT at, outcome, staff_id, note FROM inquiry_attempts WHERE reference = ?"
            " ORDER BY id",
            (reference,),
        )
        return [
            Attempt(from_db(r["at"]).astimezone(self._tz), r["outcome"], r["staff_id"], r["note"])
            for r in rows
        ]


class SqliteStaffAudit:
    """Who was shown which full record, and when."""

    def __init__(self, db: Database, tz: tzinfo | None = None) -> None:
        self._db = db
        self._tz = tz

    def viewed(self, reference: str, staff_id: str, what: str, now: datetime) -> Write:
        return Write(
            "INSERT INTO staff_views (at, staff_id, reference, what) VALUES (?, ?, ?, ?)",
            (to_db(now), staff_id, reference, what),
        )

    async def views_of(self, reference: str) -> list[View]:
        rows = await self._db.fetchall(
            "SELECT at, staff_id, reference, what FROM staff_views WHERE reference = ? ORDER BY id",
            (reference,),
        )
        return [
            View(from_db(r["at"]).astimezone(self._tz), r["staff_id"], r["reference"], r["what"])
            for r in rows
        ]
