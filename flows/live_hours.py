"""Whether Tier 1 operators are live: Monday to Friday within the configured hours, never
on a federal holiday. Every answer names the rule that decided it and, when they are off,
when they are available again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from enum import StrEnum

from msgspec import Struct

from flows.business_days import business_days_from, holiday_name


class LiveHoursRule(StrEnum):
    OPEN = "live_hours.open"
    WEEKEND = "live_hours.weekend"
    HOLIDAY = "live_hours.holiday"
    BEFORE_OPENING = "live_hours.before_opening"
    AFTER_CLOSING = "live_hours.after_closing"


# What the applicant is told when operators are off, by the rule that said so.
OFF_DUTY_TEXT: Mapping[LiveHoursRule, str] = {
    LiveHoursRule.WEEKEND: "tier1.hours.weekend",
    LiveHoursRule.HOLIDAY: "tier1.hours.holiday",
    LiveHoursRule.BEFORE_OPENING: "tier1.hours.before_opening",
    LiveHoursRule.AFTER_CLOSING: "tier1.hours.after_closing",
}


class LiveHours(Struct, frozen=True):
    opens: time
    closes: time


class LiveHoursDecision(Struct, frozen=True):
    open: bool
    rule: LiveHoursRule
    holiday: str | None = None  # named once
    reopens: datetime | None = None  # when off: when operators are available again


def operators_live(now: datetime, hours: LiveHours) -> LiveHoursDecision:
    """Are operators answering at `now` (an aware datetime in the service's time zone)?"""
    day = now.date()
    if now.weekday() >= 5:
        return LiveHoursDecision(False, LiveHoursRule.WEEKEND, reopens=next_opening(now, hours))
    name = holiday_name(day)
    if name is not None:
        return LiveHoursDecision(
            False, LiveHoursRule.HOLIDAY, holiday=name, reopens=next_opening(now, hours)
        )
    if now.time() < hours.opens:
        return LiveHoursDecision(
            False, LiveHoursRule.BEFORE_OPENING, reopens=next_opening(now, hours)
        )
    if now.time() >= hours.closes:
        return LiveHoursDecision(
            False, LiveHoursRule.AFTER_CLOSING, reopens=next_opening(now, hours)
        )
    return LiveHoursDecision(True, LiveHoursRule.OPEN)


def next_opening(now: datetime, hours: LiveHours) -> datetime:
    """The first moment operators answer at or after `now`: the opening of the first
    business day (a weekday that is not a federal holiday) whose hours are still ahead."""
    for day in business_days_from(now.date()):
        opens = datetime.combine(day, hours.opens, tzinfo=now.tzinfo)
        closes = datetime.combine(day, hours.closes, tzinfo=now.tzinfo)
        if now < closes:
            return max(opens, now)
    raise AssertionError("unreachable: business days never end")
