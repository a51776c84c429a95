"""Biometrics bookings at Application Support Centers, in SQLite: the `BiometricsBookings`
port.

A support center takes a limited number of applicants per slot. That capacity is written
once, as the precondition of the booking's insert (the count is checked inside the same
transaction), so two applicants pressing the last place at once cannot both get it: the
second commit conflicts and its turn is decided again on fresh counts.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.model import ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db


class SqliteBiometricsBookings:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    async def booked(self, site_id: str, since: datetime) -> dict[datetime, int]:
        """How many bookings each slot of `site_id` from `since` on holds (slots without
        bookings are absent)."""
        rows = await self._db.fetchall(
            "SELECT slot_at, COUNT(*) AS taken FROM biometrics_bookings"
            " WHERE site_id = ? AND slot_at >= ? GROUP BY slot_at",
            (site_id, to_db(since)),
        )
        return {from_db(r["slot_at"]).astimezone(self._tz): r["taken"] for r in rows}

    def book(
        self,
        receipt: str,
        site_id: str,
        at: datetime,
        *,
        capacity: int,
        good_cause: str,
        key: ConversationKey,
        now: datetime,
    ) -> tuple[Write, Write]:
        """The writes that book `at` at `site_id` for the case `receipt`: the booking an
        earlier reschedule made is freed, and the new one is inserted only while the slot
        holds fewer than `capacity` bookings (else the commit conflicts)."""
        slot = to_db(at)
        return (
            Write("DELETE FROM biometrics_bookings WHERE receipt_number = ?", (receipt,)),
            Write(
                "INSERT INTO biometrics_bookings (receipt_number, site_id, slot_at, good_cause,"
                " channel, user_id, created_at) SELECT ?, ?, ?, ?, ?, ?, ? WHERE (SELECT"
                " COUNT(*) FROM biometrics_bookings WHERE site_id = ? AND slot_at = ?) < ?",
                (
                    receipt,
                    site_id,
                    slot,
                    good_cause,
                    key.channel,
                    key.user_id,
                    to_db(now),
                    site_id,
                    slot,
                    capacity,
                ),
                expect_rows=1,
            ),
        )
