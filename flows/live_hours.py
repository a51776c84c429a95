"""Whether Tier 1 operators are live: Monday to Friday within the configured hours, never
on a federal holiday. Every answer names the rule that decided it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from flows.business_days import holiday_name


@dataclass(frozen=True)
class LiveHours:
    opens: time
    closes: time


@dataclass(frozen=True)
class LiveHoursDecision:
    open: bool
    rule: str  # e.g. "live_hours.holiday"
    holiday: str | None = None


def operators_live(now: datetime, hours: LiveHours) -> LiveHoursDecision:
    """Are operators answering at `now` (an aware datetime in the service's time zone)?"""
    day = now.date()
    if now.weekday() >= 5:
        return LiveHoursDecision(False, "live_hours.weekend")
    name = holiday_name(day)
    if name is not None:
        return LiveHoursDecision(False, "live_hours.holiday", holiday=name)
    if now.time() < hours.opens:
        return LiveHoursDecision(False, "live_hours.before_opening")
    if now.time() >= hours.closes:
        return LiveHoursDecision(False, "live_hours.after_closing")
    return LiveHoursDecision(True, "live_hours.open")
