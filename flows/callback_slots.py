"""Tier 2 callback slots: when an officer can call back, and which times to offer.

Slots start every `slot_minutes` inside the callback window on business days (weekends and
federal holidays excluded); a slot must end by the window's close and start at least
`min_notice_minutes` from now. A regular request is offered slots up to the end of the
`regular_business_days`-th business day after today. An urgent one is offered the free
slots starting within `urgent_hours` of the request; when none of those is free (a holiday
weekend, or every place taken) it is offered the earliest free times of the regular window
instead, and the offer says so (`CallbackOffer.late`). So, for the same bookings, an urgent
inquiry's first time is never later than a regular one's. Each slot has a capacity; full
slots are not offered.

The offer is grouped by day: the applicant picks one of the business days that have room,
then a time on it (`CallbackOffer.days`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from msgspec import Struct

from flows.business_days import business_days_after, business_days_from, is_business_day
from flows.timeslots import day_slots


class CallbackPolicy(Struct, frozen=True):
    opens: time = time(7, 0)
    closes: time = time(18, 30)
    slot_minutes: int = 30
    capacity: int = 3
    urgent_hours: int = 72
    regular_business_days: int = 30
    min_notice_minutes: int = 60


class CallbackSlot(Struct, frozen=True):
    start: datetime
    booked: int
    capacity: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


class DayRoom(Struct, frozen=True):
    """A business day that has room, with its free slots, earliest first (never empty)."""

    day: date
    slots: tuple[CallbackSlot, ...]

    @property
    def first(self) -> datetime:
        return self.slots[0].start


class CallbackOffer(Struct, frozen=True):
    """What a request is offered: the days with room, earliest first.

    `late`: the request is urgent but nothing is free within `urgent_hours`, so these are
    the earliest times there are (the applicant is told so, with the walk-in guidance).
    """

    days: tuple[DayRoom, ...]
    late: bool = False

    @property
    def first(self) -> datetime | None:
        """The earliest time offered, or None when nothing is free."""
        return self.days[0].first if self.days else None

    def on(self, day: date) -> DayRoom | None:
        return next((d for d in self.days if d.day == day), None)

    def offers(self, slot: datetime) -> bool:
        room = self.on(slot.date())
        return room is not None and any(s.start == slot for s in room.slots)


def horizon(now: datetime, urgent: bool, policy: CallbackPolicy) -> datetime:
    """The latest moment a callback may start for a request made at `now`, when the
    urgent promise can be kept (`callback_offer` falls back to the regular horizon)."""
    if urgent:
        return now + timedelta(hours=policy.urgent_hours)
    last_day = business_days_after(now.date(), policy.regular_business_days)
    return datetime.combine(last_day, policy.closes, tzinfo=now.tzinfo)


def window(now: datetime, policy: CallbackPolicy) -> tuple[datetime, datetime]:
    """The earliest and the latest slot start any request made at `now` may be offered
    (urgent or not): the range whose bookings an offer needs."""
    return now + timedelta(minutes=policy.min_notice_minutes), horizon(now, False, policy)


@lru_cache(maxsize=1024)
def slot_starts(day: date, policy: CallbackPolicy, tz: tzinfo | None) -> tuple[datetime, ...]:
    """Every slot start on `day` inside the window (whether or not `day` is a business day).
    Kept once made: every offer walks the same days."""
    return tuple(day_slots(day, policy.opens, policy.closes, policy.slot_minutes, tz))


def candidate_slots(now: datetime, urgent: bool, policy: CallbackPolicy) -> list[datetime]:
    """All slot starts within the horizon of a request made at `now`, earliest first
    (capacity aside). Used for a second attempt after an unanswered call."""
    earliest = now + timedelta(minutes=policy.min_notice_minutes)
    latest = horizon(now, urgent, policy)
    out: list[datetime] = []
    for day in business_days_from(now.date()):
        if datetime.combine(day, policy.opens, tzinfo=now.tzinfo) > latest:
            break
        out.extend(s for s in slot_starts(day, policy, now.tzinfo) if earliest <= s <= latest)
    return out


def _days_with_room(
    now: datetime,
    latest: datetime,
    booked: Mapping[datetime, int],
    policy: CallbackPolicy,
    limit: int | None,
) -> tuple[DayRoom, ...]:
    earliest = now + timedelta(minutes=policy.min_notice_minutes)
    days: list[DayRoom] = []
    for day in business_days_from(now.date()):
        if datetime.combine(day, policy.opens, tzinfo=now.tzinfo) > latest:
            break
        free = []
        for start in slot_starts(day, policy, now.tzinfo):
            if start < earliest or start > latest:
                continue
            taken = booked.get(start, 0)
            if taken < policy.capacity:
                free.append(CallbackSlot(start, taken, policy.capacity))
        if free:
            days.append(DayRoom(day, tuple(free)))
            if limit is not None and len(days) >= limit:
                break
    return tuple(days)


def callback_offer(
    now: datetime,
    urgent: bool,
    booked: Mapping[datetime, int],
    policy: CallbackPolicy,
    *,
    days: int | None = None,
) -> CallbackOffer:
    """The days with room (at most `days` of them, when given) a request made at `now` is
    offered, given the callbacks `booked` per slot start.

    Urgent: the free slots within `urgent_hours`; when there are none, the earliest free
    slots of the regular window, marked `late`. Regular: the free slots of the window.
    """
    if urgent:
        within = _days_with_room(now, horizon(now, True, policy), booked, policy, days)
        if within:
            return CallbackOffer(within)
    regular = _days_with_room(now, horizon(now, False, policy), booked, policy, days)
    return CallbackOffer(regular, late=urgent)


def is_offerable(slot: datetime, now: datetime, policy: CallbackPolicy) -> bool:
    """Is `slot` still a time a request made at `now` may book (capacity aside)? Any slot
    of the regular window is: an urgent offer is a part of it, earliest first."""
    earliest, latest = window(now, policy)
    return (
        earliest <= slot <= latest
        and slot in slot_starts(slot.date(), policy, slot.tzinfo)
        and is_business_day(slot.date())
    )
