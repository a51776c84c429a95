"""In-person appointment requests in SQLite: the `AppointmentRequests` port.

The automated tier stores a request pending review under a short random reference; staff
read the open ones and move them through review. A reference that happens to exist
already makes the commit conflict (INSERT OR IGNORE that must touch one row), and the turn
is run again with a fresh reference instead of failing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from msgspec import Struct

from bot.model import ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db

PENDING_REVIEW = "pending_review"
IN_REVIEW = "in_review"
OPEN = (PENDING_REVIEW, IN_REVIEW)


class AppointmentRequest(Struct, frozen=True):
    """A stored request, as staff see it."""

    reference: str
    key: ConversationKey
    request_type: str
    identifier: str
    reason: str
    preferred_date: date | None
    status: str
    created_at: datetime
    updated_at: datetime
    taken_by: str | None = None  # the officer reviewing it
    phone: str | None = None  # E.164; none for requests stored before it was asked
    zip_code: str | None = None


class SqliteAppointmentRequests:
    def __init__(self, db: Database) -> None:
        self._db = db

    def submit(
        self,
        reference: str,
        key: ConversationKey,
        *,
        request_type: str,
        identifier: str,
        reason: str,
        preferred_date: date | None,
        now: datetime,
        phone: str | None = None,
        zip_code: str | None = None,
    ) -> Write:
        """The write that stores a new request, pending review; it conflicts when
        `reference` is taken (the caller retries with another)."""
        stamp = to_db(now)
        return Write(
            "INSERT OR IGNORE INTO appointment_requests (reference, channel, user_id,"
            " request_type, identifier, reason, preferred_date, status, created_at, updated_at,"
            " phone, zip_code)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reference,
                key.channel,
                key.user_id,
                request_type,
                identifier,
                reason,
                preferred_date.isoformat() if preferred_date else None,
                PENDING_REVIEW,
                stamp,
                stamp,
                phone,
                zip_code,
            ),
            expect_rows=1,
        )

    async def open_requests(self) -> list[AppointmentRequest]:
        """Requests pending or in review, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM appointment_requests WHERE status IN (?, ?) ORDER BY created_at",
            OPEN,
        )
        return [_request(r) for r in rows]

    async def open_of(self, key: ConversationKey) -> list[AppointmentRequest]:
        """One conversation's requests pending or in review."""
        rows = await self._db.fetchall(
            "SELECT * FROM appointment_requests WHERE channel = ? AND user_id = ?"
            " AND status IN (?, ?)",
            (key.channel, key.user_id, *OPEN),
        )
        return [_request(r) for r in rows]

    async def get(self, reference: str) -> AppointmentRequest | None:
        """The request with `reference` (any case: they are stored upper-case), or None."""
        row = await self._db.fetchone(
            "SELECT * FROM appointment_requests WHERE reference = ?",
            (reference.strip().upper(),),
        )
        return None if row is None else _request(row)

    def take(self, request: AppointmentRequest, staff_id: str, now: datetime) -> Write:
        """An officer takes the request into review; conflicts when it changed since it was
        read."""
        return Write(
            "UPDATE appointment_requests SET status = ?, taken_by = ?, updated_at = ?"
            " WHERE reference = ? AND status = ? AND taken_by IS ?",
            (IN_REVIEW, staff_id, to_db(now), request.reference, request.status, request.taken_by),
            expect_rows=1,
        )

    def release(self, request: AppointmentRequest, staff_id: str, now: datetime) -> Write:
        """Back to the queue, pending review with no officer (released, or a call unanswered
        that will be tried again)."""
        return Write(
            "UPDATE appointment_requests SET status = ?, taken_by = NULL, updated_at = ?"
            " WHERE reference = ? AND status = ? AND taken_by IS ?",
            (PENDING_REVIEW, to_db(now), request.reference, request.status, request.taken_by),
            expect_rows=1,
        )

    def hand_over(
        self, request: AppointmentRequest, staff_id: str, to: str, now: datetime
    ) -> Write:
        return Write(
            "UPDATE appointment_requests SET taken_by = ?, updated_at = ?"
            " WHERE reference = ? AND status = ? AND taken_by = ?",
            (to, to_db(now), request.reference, IN_REVIEW, staff_id),
            expect_rows=1,
        )

    def set_status(self, request: AppointmentRequest, status: str, now: datetime) -> Write:
        """Move `request` to `status`; conflicts when its status changed since it was read."""
        return Write(
            "UPDATE appointment_requests SET status = ?, updated_at = ?"
            " WHERE reference = ? AND status = ?",
            (status, to_db(now), request.reference, request.status),
            expect_rows=1,
        )


def _request(row: Any) -> AppointmentRequest:
    preferred = row["preferred_date"]
    return AppointmentRequest(
        reference=row["reference"],
        key=ConversationKey(row["channel"], row["user_id"]),
        request_type=row["request_type"],
        identifier=row["identifier"],
        reason=row["reason"],
        preferred_date=date.fromisoformat(preferred) if preferred else None,
        status=row["status"],
        created_at=from_db(row["created_at"]),
        updated_at=from_db(row["updated_at"]),
        taken_by=row["taken_by"],
        phone=row["phone"],
        zip_code=row["zip_code"],
    )
