"""Storage of Tier 2 callbacks: capacity counts, the atomic booking write, reminders, and
references. Used by the dialogs (inside a turn) and by the staff desk (outside one).

Capacity is enforced in SQL, not in Python: the booking is an `INSERT ... SELECT ...
WHERE (count at that slot) < capacity` expected to touch one row. When two bookings race
for the last place, one of them touches none, its whole turn is rolled back, and the
engine runs it again on fresh data, where the slot shows as full.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time
from typing import Any

from bot.messages import Catalogue
from bot.model import ConversationKey, Reply
from bot.storage import outbox
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db
from flows.business_days import business_days_before

ACTIVE = ("booked", "taken")  # statuses that hold a place in a slot and are open
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on the phone


def new_reference(prefix: str) -> str:
    return prefix + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def new_service_item() -> str:
    return "SR" + "".join(secrets.choice("0123456789") for _ in range(10))


async def booked_counts(db: Database, start: datetime, end: datetime) -> dict[datetime, int]:
    """How many active callbacks each slot between `start` and `end` holds."""
    rows = await db.fetchall(
        "SELECT slot_at, COUNT(*) AS n FROM callbacks WHERE slot_at BETWEEN ? AND ?"
        " AND status IN ('booked', 'taken') GROUP BY slot_at",
        (to_db(start), to_db(end)),
    )
    return {from_db(r["slot_at"]): r["n"] for r in rows}


async def count_at(db: Database, slot: datetime) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM callbacks WHERE slot_at = ? AND status IN ('booked', 'taken')",
        (to_db(slot),),
    )
    return row["n"] if row else 0


_ROOM = "(SELECT COUNT(*) FROM callbacks WHERE slot_at = ? AND status IN ('booked', 'taken')) < ?"


def book_write(values: dict[str, Any], capacity: int) -> Write:
    """Insert a callback only while its slot has room (touches 1 row, or 0 when full)."""
    columns = list(values)
    return Write(
        f"INSERT INTO callbacks ({', '.join(columns)}) "
        f"SELECT {', '.join('?' for _ in columns)} WHERE {_ROOM}",
        (*values.values(), values["slot_at"], capacity),
        expect_rows=1,
    )


def move_write(
    reference: str,
    slot: datetime,
    capacity: int,
    now: datetime,
    *,
    status: str = "booked",
    attempts: int | None = None,
) -> Write:
    """Move an open callback to `slot` only while that slot has room."""
    return Write(
        "UPDATE callbacks SET slot_at = ?, status = ?, attempts = COALESCE(?, attempts),"
        f" taken_by = NULL, updated_at = ? WHERE reference = ? AND status IN ('booked', 'taken')"
        f" AND {_ROOM}",
        (to_db(slot), status, attempts, to_db(now), reference, to_db(slot), capacity),
        expect_rows=1,
    )


def reminder_kind(reference: str) -> str:
    return f"callback.reminder:{reference}"


def drop_reminder(reference: str) -> Write:
    """Withdraw a reminder not yet delivered (the callback moved, closed or was cancelled)."""
    return Write(
        "DELETE FROM outbox WHERE kind = ? AND delivered_at IS NULL", (reminder_kind(reference),)
    )


def reminder_write(
    messages: Catalogue,
    key: ConversationKey,
    reference: str,
    slot: datetime,
    phone: str,
    now: datetime,
    business_days: int,
) -> Write | None:
    """The reminder notice, due `business_days` before the call at the same time of day;
    None when that moment has already passed (a call booked for the next day)."""
    day = business_days_before(slot.date(), business_days)
    due = datetime.combine(day, time(slot.hour, slot.minute), tzinfo=slot.tzinfo)
    if due <= now:
        return None
    text = messages.text(
        "tier2.notice.reminder", reference=reference, when=format_when(messages, slot), phone=phone
    )
    return outbox.enqueue(key, reminder_kind(reference), Reply(text), now=now, due_at=due)


def format_when(messages: Catalogue, at: datetime) -> str:
    """A date and time as applicants read it: 'Tuesday, November 24, 2026 at 10:30 AM'."""
    return messages.text(
        "tier2.when.format",
        weekday=f"{at:%A}",
        month=f"{at:%B}",
        day=at.day,
        year=at.year,
        time=f"{at:%I:%M %p}".lstrip("0"),
    )


async def open_callbacks(db: Database, key: ConversationKey) -> list[Any]:
    """The conversation's open callbacks, newest first."""
    return await db.fetchall(
        "SELECT * FROM callbacks WHERE channel = ? AND user_id = ?"
        " AND status IN ('booked', 'taken') ORDER BY created_at DESC, reference DESC",
        (key.channel, key.user_id),
    )


def format_short(messages: Catalogue, at: datetime) -> str:
    """A slot on a button: 'Tue Nov 24, 10:30 AM'."""
    return messages.text(
        "tier2.when.short",
        weekday=f"{at:%a}",
        month=f"{at:%b}",
        day=at.day,
        time=f"{at:%I:%M %p}".lstrip("0"),
    )
