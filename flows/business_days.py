"""Federal business days: weekdays that are not US federal holidays.

The calendar is the `holidays` package with the public and government categories, which
carries observed dates (Independence Day 2026 is observed on Friday 3 July) and one-off
federal closures. A stock-exchange calendar would be wrong here: markets close on days
federal offices work, and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import cache

import holidays


@cache
def federal_calendar() -> holidays.HolidayBase:
    """The shared federal calendar (years are filled in lazily as dates are looked up)."""
    return holidays.US(categories=(holidays.PUBLIC, holidays.GOVERNMENT))


def is_business_day(day: date) -> bool:
    return bool(federal_calendar().is_working_day(day))


def holiday_name(day: date) -> str | None:
    """The federal holiday on `day`, or None."""
    return federal_calendar().get(day)


def business_days_after(day: date, n: int) -> date:
    """The `n`-th business day after `day` (`day` itself never counts); n >= 1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return federal_calendar().get_nth_working_day(day, n)


def business_days_before(day: date, n: int) -> date:
    """The `n`-th business day before `day`; n >= 1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return federal_calendar().get_nth_working_day(day, -n)


def business_days_from(start: date) -> Iterator[date]:
    """Business days from `start` (included when it is one) onwards, without end."""
    day = start
    while True:
        if is_business_day(day):
            yield day
        day += timedelta(days=1)
