"""Tier 1 service requests in SQLite: what an operator opens when the applicant's issue is
for an officer to look into (a notice never received, a case past its time), with or
without a case on file. Each sits in the staff queue until an officer answers or refuses
it; the answer reaches the applicant through the outbox."""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo

from msgspec import Struct

from bot.model import ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db

OPEN = "open"
TAKEN = "taken"
_OPEN = f"status IN ('{OPEN}', '{TAKEN}')"


class ServiceRequest(Struct, frozen=True):
    """A stored service request, as staff see it."""

    number: str  # the service item number, SR and ten digits
    key: ConversationKey
    issue: str
    receipt: str | None
    rule: str  # the triage rule that opened it
    role: str | None
    urgent: bool
    urgency_rule: str
    status: str
    taken_by: str | None
    created_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status in (OPEN, TAKEN)


class SqliteServiceRequests:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    def open(
        self,
        number: str,
        key: ConversationKey,
        issue: str,
        receipt: str | None,
        rule: str,
        now: datetime,
        *,
        role: str | None = None,
        urgent: bool = False,
        urgency_rule: str = "urgency.regular",
    ) -> Write:
        return Write(
            "INSERT INTO service_requests (service_item, channel, user_id, issue, receipt, rule,"
            " created_at, status, role, urgent, urgency_rule, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                key.channel,
                key.user_id,
                issue,
                receipt,
                rule,
                to_db(now),
                OPEN,
                role,
                int(urgent),
                urgency_rule,
                to_db(now),
            ),
            expect_rows=1,
        )

    # ---- reads ----------------------------------------------------------------------------

    async def get(self, number: str) -> ServiceRequest | None:
        row = await self._db.fetchone(
            "SELECT * FROM service_requests WHERE service_item = ?", (number.strip().upper(),)
        )
        return None if row is None else self._record(row)

    async def open_items(self) -> list[ServiceRequest]:
        """Open service requests, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT * FROM service_requests WHERE {_OPEN} ORDER BY created_at"
        )
        return [self._record(r) for r in rows]

    async def open_of(self, key: ConversationKey) -> list[ServiceRequest]:
        rows = await self._db.fetchall(
            f"SELECT * FROM service_requests WHERE channel = ? AND user_id = ? AND {_OPEN}",
            (key.channel, key.user_id),
        )
        return [self._record(r) for r in rows]

    # ---- writes: each conflicts when the request changed since it was read ----------------

    def take(self, request: ServiceRequest, staff_id: str, now: datetime) -> Write:
        return self._change(request, TAKEN, staff_id, now)

    def release(self, request: ServiceRequest, now: datetime) -> Write:
        return self._change(request, OPEN, None, now)

    def hand_over(self, request: ServiceRequest, to: str, now: datetime) -> Write:
        return self._change(request, TAKEN, to, now)

    def close(self, request: ServiceRequest, status: str, now: datetime) -> Write:
        return self._change(request, status, request.taken_by, now)

    def _change(
        self, request: ServiceRequest, status: str, taken_by: str | None, now: datetime
    ) -> Write:
        return Write(
            "UPDATE service_requests SET status = ?, taken_by = ?, updated_at = ?"
            " WHERE service_item = ? AND status = ? AND taken_by IS ?",
            (status, taken_by, to_db(now), request.number, request.status, request.taken_by),
            expect_rows=1,
        )

    def _record(self, row: sqlite3.Row) -> ServiceRequest:
        return ServiceRequest(
            number=row["service_item"],
            key=ConversationKey(row["channel"], row["user_id"]),
            issue=row["issue"],
            receipt=row["receipt"],
            rule=row["rule"],
            role=row["role"],
            urgent=bool(row["urgent"]),
            urgency_rule=row["urgency_rule"],
            status=row["status"],
            taken_by=row["taken_by"],
            created_at=from_db(row["created_at"]).astimezone(self._tz),
        )
