"""In-person appointment requests (from the automated tier's form) as the staff desk reviews
them: the open ones, one by reference, and the guarded status changes of a review.

The automated tier writes these requests through its own port; this file holds only what
the desk reads and writes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.model import ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db

OPEN_REQUEST = ("pending_review", "in_review")
_OPEN = "status IN ('pending_review', 'in_review')"


@dataclass(frozen=True)
class RequestRecord:
    reference: str
    channel: str
    user_id: str
    request_type: str
    identifier: str
    status: str
    created_at: datetime


class SqliteRequestsReview:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    async def open_requests(self) -> list[RequestRecord]:
        """Requests waiting for (or in) review, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT * FROM appointment_requests WHERE {_OPEN} ORDER BY created_at"
        )
        return [self._record(r) for r in rows]

    async def open_of(self, key: ConversationKey) -> list[RequestRecord]:
        rows = await self._db.fetchall(
            f"SELECT * FROM appointment_requests WHERE channel = ? AND user_id = ? AND {_OPEN}",
            (key.channel, key.user_id),
        )
        return [self._record(r) for r in rows]

    async def get(self, reference: str) -> RequestRecord | None:
        row = await self._db.fetchone(
            "SELECT * FROM appointment_requests WHERE reference = ? COLLATE NOCASE", (reference,)
        )
        return None if row is None else self._record(row)

    def set_status(self, request: RequestRecord, status: str, now: datetime) -> Write:
        """Change the status; conflicts when it changed since `request` was read."""
        return Write(
            "UPDATE appointment_requests SET status = ?, updated_at = ?"
            " WHERE reference = ? AND status = ?",
            (status, to_db(now), request.reference, request.status),
            expect_rows=1,
        )

    def _record(self, row: sqlite3.Row) -> RequestRecord:
        return RequestRecord(
            reference=row["reference"],
            channel=row["channel"],
            user_id=row["user_id"],
            request_type=row["request_type"],
            identifier=row["identifier"],
            status=row["status"],
            created_at=from_db(row["created_at"]).astimezone(self._tz),
        )
