"""The staff log in SQLite (`inquiry_attempts`): every take and every call outcome, with who
did it. The desk reads it for an appointment request's taker and its unanswered calls."""

from __future__ import annotations

from datetime import datetime

from bot.storage.database import Database, Write
from bot.storage.timefmt import to_db


class SqliteStaffLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def attempt(
        self, reference: str, now: datetime, outcome: str, staff_id: str, note: str | None
    ) -> Write:
        return Write(
            "INSERT INTO inquiry_attempts (reference, at, outcome, staff_id, note)"
            " VALUES (?, ?, ?, ?, ?)",
            (reference, to_db(now), outcome, staff_id, note),
        )

    async def last_taker(self, reference: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT staff_id FROM inquiry_attempts WHERE reference = ? AND outcome = 'taken'"
            " ORDER BY id DESC LIMIT 1",
            (reference,),
        )
        return str(row["staff_id"]) if row else None

    async def no_answers(self, reference: str) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM inquiry_attempts WHERE reference = ?"
            " AND outcome = 'no-answer'",
            (reference,),
        )
        return int(row["n"]) if row else 0
