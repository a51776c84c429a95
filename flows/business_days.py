"""Federal business days: weekdays that are not US federal holidays.

The calendar is the `holidays` package with the public and government categories, which
carries observed dates (Independence Day 2026 is observed on Friday 3 July) and one-off
federal closures. A stock-exchange calendar would be wrong here: markets close on days
federal offices work, and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import holidays

# `holidays` is imported when a calendar is first needed, not with this module: importing
# it costs more than the rest of the console's start-up, and a first answer seldom needs it.


@cache
def federal_calendar() -> holidays.HolidayBase:
    """The shared federal calendar (years are filled in lazily as dates are looked up)."""
    import holidays

    return holidays.US(categories=(holidays.PUBLIC, holidays.GOVERNMENT))


# The calendar never changes for a date already asked about, and the same few hundred days
# are asked about on every turn that offers times: the answers are kept.
@lru_cache(maxsize=4096)
def is_business_day(day: date) -> bool:
    return bool(federal_calendar().is_working_day(day))


@cache
def _public_calendar() -> holidays.HolidayBase:
    import holidays

    return holidays.US(categories=(holidays.PUBLIC,))


def holiday_name(day: date) -> str | None:
    """The federal holiday on `day`, named once, or None.

    A day in both categories can carry two names for the same holiday (the government
    calendar's "Birthday of Martin Luther King, Jr." beside the public "Martin Luther King
    Jr. Day"): the public name is the one people use, so it wins; a one-off closure that
    only the government category lists keeps its own name."""
    names = federal_calendar().get_list(day)
    if not names:
        return None
    public = _public_calendar().get_list(day)
    return public[0] if public else names[0]


@lru_cache(maxsize=4096)
def business_days_after(day: date, n: int) -> date:
    """The `n`-th business day after `day` (`day` itself never counts); n >= 1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return federal_calendar().get_nth_working_day(day, n)


@lru_cache(maxsize=4096)
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
