"""Turning declared sentences into text: the catalogue, and one formatter per date style.

Steps in `flows/` say *what* to show (`Say(key, params)`, `Choice(kind, label)`); this
module says *how*: catalogue texts filled with their placeholders, and every date and time
written in one house style wherever it appears (a reply, a button, a notice, a staff
screen): "Tuesday, November 24, 2026, 10:30 a.m." (long), "Tue Nov 24, 10:30 a.m."
(short, on buttons), "November 24, 2026" (a day), "Tue Nov 24" (a day on a button),
"Monday, January 4" (a day named with its weekday) and "8:00 a.m." (a time of day, such as
opening hours from configuration). A placeholder may itself be a `Say` (an explanation
named by a rule), rendered first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from bot.messages import Catalogue
from flows.steps import DayName, Say, Short, ShortDay


def clock_time(at: datetime | time) -> str:
    """'10:30 a.m.', '12:00 p.m.'"""
    hour = at.hour % 12 or 12
    return f"{hour}:{at:%M} {'a.m.' if at.hour < 12 else 'p.m.'}"


def long_date(day: date) -> str:
    """'November 24, 2026'"""
    return f"{day:%B} {day.day}, {day.year}"


def long_when(at: datetime) -> str:
    """'Tuesday, November 24, 2026, 10:30 a.m.'"""
    return f"{at:%A}, {long_date(at.date())}, {clock_time(at)}"


def short_when(at: datetime) -> str:
    """'Tue Nov 24, 10:30 a.m.' (a button label)"""
    return f"{at:%a} {at:%b} {at.day}, {clock_time(at)}"


def short_day(day: date) -> str:
    """'Tue Nov 24' (a day on a button label)"""
    return f"{day:%a} {day:%b} {day.day}"


def day_name(day: date) -> str:
    """'Monday, January 4' (a day a few weeks away at most)"""
    return f"{day:%A}, {day:%B} {day.day}"


def formatted(params: Mapping[str, Any]) -> dict[str, Any]:
    """Placeholder values as they are written: dates and times in the house style."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, datetime):
            value = long_when(value)
        elif isinstance(value, Short):
            value = short_when(value.at)
        elif isinstance(value, ShortDay):
            value = short_day(value.day)
        elif isinstance(value, DayName):
            value = day_name(value.day)
        elif isinstance(value, date):
            value = long_date(value)
        elif isinstance(value, time):
            value = clock_time(value)
        out[name] = value
    return out


def render(messages: Catalogue, said: Say) -> str:
    return text(messages, said.key, said.params)


def text(messages: Catalogue, key: str, params: Mapping[str, Any]) -> str:
    """The catalogue text `key` with `params` written in the house style."""
    if not params:
        return messages.text(key)
    values = {k: render(messages, v) if isinstance(v, Say) else v for k, v in params.items()}
    return messages.text(key, **formatted(values))
