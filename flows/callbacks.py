"""Tier 2 officer callbacks as data, and the pure rules around a booked one: its record,
the slot code carried on a button, the reminder's due time, the ZIP code that finds the
field office, and the time of a second attempt after an unanswered call.

Which times may be offered at all is `flows.callback_slots`; capacity is enforced by the
booking write itself (`bot.storage.callbacks`), never here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time
from enum import StrEnum

from msgspec import Struct

from flows.business_days import business_days_before
from flows.callback_slots import CallbackPolicy, candidate_slots

SLOT_CODE = "%Y%m%dT%H%M"  # a slot's start on a button: 20261123T1100
OPEN = ("booked", "taken")  # statuses that hold a place in a slot and are open
_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?$")


class Tier2Rule(StrEnum):
    DAY_PICKED = "tier2.day_picked"
    DAY_FULL = "tier2.day_full"  # the day filled up since the days were shown
    LOOK_AGAIN = "tier2.look_again"  # nothing was free: look again
    OTHER_DAY = "tier2.other_day"  # back from the times to the days
    SLOT_PICKED = "tier2.slot_picked"
    NEW_TIME_PICKED = "tier2.new_time_picked"  # a booked callback being moved
    DETAILS_KEPT = "tier2.details_kept"  # a new time; phone and ZIP given before are kept
    SLOT_PASSED = "tier2.slot_passed"
    SLOT_FULL = "tier2.slot_full"
    OTHER_TIME = "tier2.other_time"  # the applicant wants another time
    OTHER_PHONE = "tier2.other_phone"  # the applicant wants another number called
    BAD_PHONE = "tier2.bad_phone"
    ZIP_ON_FILE = "tier2.zip_on_file"  # the case on file gives the field office
    ZIP_KEPT = "tier2.zip_kept"  # a new number; the ZIP code given before is kept
    ZIP_ASKED = "tier2.zip_asked"  # no case on file gives a ZIP code
    ZIP_GIVEN = "tier2.zip_given"
    BAD_ZIP = "tier2.bad_zip"
    RECEIPT_NOTED = "tier2.receipt_noted"  # a receipt number given where the ZIP is asked
    BOOKED = "tier2.booked"
    MOVED = "tier2.moved"
    MOVE_ASKED = "tier2.move_asked"
    IN_HAND = "tier2.in_hand"  # with an officer: can no longer be moved or cancelled
    CALLBACK_PAST = "tier2.callback_past"  # its time has passed: it can no longer be moved
    CALLBACK_CANCELLED = "tier2.callback_cancelled"


class CallbackRecord(Struct, frozen=True):
    """A callback as stored."""

    reference: str
    channel: str
    user_id: str
    issue: str
    urgent: bool
    urgency_rule: str
    inperson_category: str | None
    inperson_justified: bool | None
    inperson_rule: str | None
    phone: str  # E.164
    zip_code: str | None
    receipt: str | None
    slot_at: datetime
    status: str = "booked"
    attempts: int = 0
    taken_by: str | None = None
    created_at: datetime | None = None
    # What the officer reads when they take it (stored since the staff desk needed them).
    role: str | None = None  # who is asking: applicant, petitioner, representative_g28
    triage_rule: str | None = None  # the rule that sent the inquiry to an officer
    escalation_reason: str | None = None  # the rule that sent the applicant to Tier 1
    evidence: str | None = None  # "yes" | "no": the applicant's answer about documents

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


def slot_code(at: datetime) -> str:
    return at.strftime(SLOT_CODE)


def slot_from_code(code: str, now: datetime) -> datetime | None:
    """The slot start a button carries, in `now`'s time zone; None when malformed."""
    try:
        return datetime.strptime(code, SLOT_CODE).replace(tzinfo=now.tzinfo)
    except ValueError:
        return None


def zip5(text: str | None) -> str | None:
    """The 5-digit ZIP code in `text` ('10278' or '10278-1234'), or None."""
    m = _ZIP.match((text or "").strip())
    return m.group(1) if m else None


def reminder_due(slot: datetime, business_days: int, now: datetime) -> datetime | None:
    """When the reminder of a call at `slot` is due: `business_days` before it, at the same
    time of day; None when that moment has passed already (a call booked for the next
    day), so no reminder is promised."""
    day = business_days_before(slot.date(), business_days)
    due = datetime.combine(day, time(slot.hour, slot.minute), tzinfo=slot.tzinfo)
    return due if due > now else None


def retry_candidates(now: datetime, urgent: bool, policy: CallbackPolicy) -> list[datetime]:
    """Slots a second attempt may take: from the next business day on (an urgent horizon
    can end before it; then the regular one applies)."""
    later = [s for s in candidate_slots(now, urgent, policy) if s.date() > now.date()]
    if not later:
        later = [s for s in candidate_slots(now, False, policy) if s.date() > now.date()]
    return later


def retry_slot(
    candidates: list[datetime],
    booked: Mapping[datetime, int],
    first_call: datetime,
    policy: CallbackPolicy,
) -> datetime | None:
    """The first slot with room among `candidates`, at or after the time of day of the
    first call when that day has one."""
    free = [s for s in candidates if booked.get(s, 0) < policy.capacity]
    if not free:
        return None
    same_day = [s for s in free if s.date() == free[0].date() and s.time() >= first_call.time()]
    return same_day[0] if same_day else free[0]
