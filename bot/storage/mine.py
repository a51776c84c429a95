"""What one applicant has with the Contact Center, read in one query: the `Mine` port.

Callbacks (but the cancelled ones), in-person appointment requests, field-office
appointments, service requests and biometrics bookings (the latest per case, since a
reschedule replaces the one before) of one conversation, as `flows.my_requests.MyItem`s.
"""

from __future__ import annotations

from datetime import tzinfo

from bot.model import ConversationKey
from bot.storage.database import Database
from bot.storage.timefmt import from_db
from flows.my_requests import MyItem

_MINE = """
SELECT 'callback' AS kind, reference, status, slot_at AS at, issue AS detail, created_at,
       phone
  FROM callbacks WHERE channel = ? AND user_id = ? AND status != 'cancelled'
UNION ALL
SELECT 'request', reference, status, NULL, request_type, created_at, NULL
  FROM appointment_requests WHERE channel = ? AND user_id = ?
UNION ALL
SELECT 'visit', reference, 'booked', at, office_id, created_at, NULL
  FROM field_appointments WHERE channel = ? AND user_id = ?
UNION ALL
SELECT 'service', service_item, 'open', NULL, issue, created_at, NULL
  FROM service_requests WHERE channel = ? AND user_id = ?
UNION ALL
SELECT 'biometrics', receipt_number, 'booked', slot_at, site_id, created_at, NULL
  FROM biometrics_bookings WHERE id IN (
    SELECT MAX(id) FROM biometrics_bookings WHERE channel = ? AND user_id = ?
    GROUP BY receipt_number)
LIMIT 50
"""


class SqliteMine:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    async def of(self, key: ConversationKey) -> list[MyItem]:
        """Everything `key`'s applicant has, in no particular order (at most 50 items)."""
        rows = await self._db.fetchall(_MINE, (key.channel, key.user_id) * 5)
        return [
            MyItem(
                kind=r["kind"],
                reference=r["reference"],
                status=r["status"],
                created_at=from_db(r["created_at"]).astimezone(self._tz),
                at=from_db(r["at"]).astimezone(self._tz) if r["at"] else None,
                detail=r["detail"] or "",
                phone=r["phone"] or "",
            )
            for r in rows
        ]
