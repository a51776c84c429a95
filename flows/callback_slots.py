"""Tier 2 callback slots: when an officer can call back, and which times to offer.

Slots start every `slot_minutes` inside the callback window on business days (weekends and
federal holidays excluded); a slot must end by the window's close. An urgent request is
offered slots starting within `urgent_hours` of the request, a regular one slots up to the
end of the `regular_business_days`-th business day after today. Each slot has a capacity;
the offer skips full slots and is paged ("later times").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from flows.business_days import business_days_after, business_days_from
from flows.timeslots import day_slots


@dataclass(frozen=True)
class CallbackPolicy:
    opens: time = time(7, 0)
    closes: time = time(18, 30)
    slot_minutes: int = 30
    capacity: int = 3
    urgent_hours: int = 72
    regular_business_days: int = 30
    min_notice_minutes: int = 60


@dataclass(frozen=True)
class CallbackSlot:
    start: datetime
    booked: int
    capacity: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass(frozen=True)
class SlotPage:
    slots: tuple[CallbackSlot, ...]
    has_more: bool


def horizon(now: datetime, urgent: bool, policy: CallbackPolicy) -> datetime:
    """The latest moment a callback may start for a request made at `now`."""
    if urgent:
        return now + timedelta(hours=policy.urgent_hours)
    last_day = business_days_after(now.date(), policy.regular_business_days)
    return datetime.combine(last_day, policy.closes, tzinfo=now.tzinfo)


def slot_starts(day: date, policy: CallbackPolicy, tz: tzinfo | None) -> list[datetime]:
    """Every slot start on `day` inside the window (whether or not `day` is a business day)."""
    return day_slots(day, policy.opens, policy.closes, policy.slot_minutes, tz)


def candidate_slots(now: datetime, urgent: bool, policy: CallbackPolicy) -> list[datetime]:
    """All slot starts a request made at `now` may be offered, earliest first."""
    earliest = now + timedelta(minutes=policy.min_notice_minutes)
    latest = horizon(now, urgent, policy)
    out: list[datetime] = []
    for day in business_days_from(now.date()):
        if datetime.combine(day, policy.opens, tzinfo=now.tzinfo) > latest:
            break
        out.extend(s for s in slot_starts(day, policy, now.tzinfo) if earliest <= s <= latest)
    return out


def offer(
    candidates: list[datetime],
    booked: Mapping[datetime, int],
    policy: CallbackPolicy,
    *,
    page: int,
    per_page: int,
) -> SlotPage:
    """Page `page` (from 0) of the slots that still have room."""
    free = [
        CallbackSlot(s, booked.get(s, 0), policy.capacity)
        for s in candidates
        if booked.get(s, 0) < policy.capacity
    ]
    begin = page * per_page
    return SlotPage(tuple(free[begin : begin + per_page]), len(free) > begin + per_page)


def is_offerable(slot: datetime, now: datetime, urgent: bool, policy: CallbackPolicy) -> bool:
    """Is `slot` still a valid choice at `now` (ignoring capacity)?"""
    return slot in candidate_slots(now, urgent, policy)
