"""Urgency is a promise: the pure callback offer (`flows.callback_slots.callback_offer`)
checked at every half hour of a whole year, holidays included, and against random
bookings. For the same bookings, an urgent inquiry's first time is never later than a
regular one's; it is within 72 hours whenever one is free there; otherwise it is the
earliest time there is, and the offer says so (`late`)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.business_days import is_business_day
from flows.callback_slots import CallbackOffer, CallbackPolicy, callback_offer, window

ET = ZoneInfo("America/New_York")
POLICY = CallbackPolicy()  # the shipped defaults: 7:00-18:30, 30 min, 3 a slot, 72 h, 30 days


def every_half_hour(year: int) -> Iterator[datetime]:
    at = datetime(year, 1, 1, 0, 0, tzinfo=ET)
    while at.year == year:
        yield at
        at += timedelta(minutes=30)


def first(now: datetime, urgent: bool, booked: Mapping[datetime, int]) -> CallbackOffer:
    return callback_offer(now, urgent, booked, POLICY, days=1)


def check_promise(now: datetime, booked: Mapping[datetime, int]) -> None:
    urgent, regular = first(now, True, booked), first(now, False, booked)
    assert regular.first is not None, now  # 30 business days always have room here
    assert urgent.first is not None, f"{now}: an urgent inquiry is offered no time"
    assert urgent.first <= regular.first, f"{now}: urgent {urgent.first} > {regular.first}"
    promise = now + timedelta(hours=POLICY.urgent_hours)
    if urgent.late:
        # Nothing free within 72 hours: the earliest time there is, said to be late.
        assert urgent.first > promise and urgent.first == regular.first, now
    else:
        assert urgent.first <= promise, now
    for offered in (urgent.first, regular.first):
        assert offered >= now + timedelta(minutes=POLICY.min_notice_minutes), now
        assert is_business_day(offered.date()), f"{now}: {offered} is not a business day"
        assert POLICY.opens <= offered.time() < POLICY.closes, now
        assert booked.get(offered, 0) < POLICY.capacity, now


@pytest.mark.parametrize("year", [2026])
def test_urgent_is_never_later_than_regular_at_any_half_hour_of_a_year(year: int) -> None:
    late = []
    for now in every_half_hour(year):
        check_promise(now, {})
        if first(now, True, {}).late:
            late.append(now)
    # The holiday weekends where 72 hours hold no business hours are among them.
    assert datetime(2026, 12, 24, 19, 0, tzinfo=ET) in late
    assert datetime(2026, 12, 31, 18, 30, tzinfo=ET) in late
    assert datetime(2026, 11, 23, 10, 0, tzinfo=ET) not in late


def _heavy_bookings(year: int) -> dict[datetime, int]:
    """Every Monday and Tuesday full, and a third of the other slots full, for the year
    and the window after it (a seeded pattern: the run is the same every time)."""
    rng = random.Random(20261224)
    booked: dict[datetime, int] = {}
    day = date(year, 1, 1)
    while day < date(year + 1, 3, 1):
        start = datetime.combine(day, POLICY.opens, tzinfo=ET)
        for i in range(23):
            slot = start + timedelta(minutes=30 * i)
            if day.weekday() in (0, 1) or rng.random() < 1 / 3:
                booked[slot] = POLICY.capacity
            elif rng.random() < 0.5:
                booked[slot] = rng.randrange(POLICY.capacity)
        day += timedelta(days=1)
    return booked


def test_the_promise_holds_at_every_half_hour_of_a_year_with_heavy_bookings() -> None:
    booked = _heavy_bookings(2026)
    for now in every_half_hour(2026):
        check_promise(now, booked)


def test_when_72_hours_are_full_the_earliest_times_there_are_are_offered() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=ET)  # Monday: 72 hours reach Thursday 10:00
    earliest, _ = window(now, POLICY)
    promise = now + timedelta(hours=POLICY.urgent_hours)
    full: dict[datetime, int] = {}
    at = earliest
    while at <= promise:
        full[at] = POLICY.capacity
        at += timedelta(minutes=30)
    offer = callback_offer(now, True, full, POLICY)
    assert offer.late and offer.first == datetime(2026, 11, 27, 7, 0, tzinfo=ET)  # Thanksgiving
    assert offer.first == callback_offer(now, False, full, POLICY).first


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    fullness=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=200),
)
def test_the_promise_holds_for_random_moments_and_bookings(
    start: datetime, fullness: list[int]
) -> None:
    now = start.replace(tzinfo=ET)
    earliest, _ = window(now, POLICY)
    # Bookings on the next slots from now on (whatever day they fall on).
    slot = datetime.combine(earliest.date(), POLICY.opens, tzinfo=ET)
    booked: dict[datetime, int] = {}
    for n in fullness:
        booked[slot] = n
        slot += timedelta(minutes=30)
        if slot.time() >= POLICY.closes:
            slot = datetime.combine(slot.date() + timedelta(days=1), POLICY.opens, tzinfo=ET)
    check_promise(now, booked)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 24, 19, 0, tzinfo=ET),
        datetime(2026, 12, 31, 18, 45, tzinfo=ET),
        datetime(2026, 7, 2, 19, 0, tzinfo=ET),
        datetime(2026, 11, 25, 18, 10, tzinfo=ET),
        datetime(2026, 11, 23, 10, 0, tzinfo=ET),
    ],
)
def test_the_day_list_starts_where_the_first_offer_does(now: datetime) -> None:
    for urgent in (True, False):
        whole = callback_offer(now, urgent, {}, POLICY)
        assert whole.first == first(now, urgent, {}).first
        days = [d.day for d in whole.days]
        assert days == sorted(set(days)) and all(is_business_day(d) for d in days)
        assert all(s.start.date() == d.day for d in whole.days for s in d.slots)
        assert whole.late is first(now, urgent, {}).late


def test_christmas_eve_and_new_years_eve_urgent_get_the_next_business_morning() -> None:
    eve = callback_offer(datetime(2026, 12, 24, 19, 0, tzinfo=ET), True, {}, POLICY)
    assert eve.late and eve.first == datetime(2026, 12, 28, 7, 0, tzinfo=ET)
    nye = callback_offer(datetime(2026, 12, 31, 18, 45, tzinfo=ET), True, {}, POLICY)
    assert nye.late and nye.first == datetime(2027, 1, 4, 7, 0, tzinfo=ET)
    # A regular inquiry at the same moments: the same first time, never an earlier one.
    assert callback_offer(datetime(2026, 12, 24, 19, 0, tzinfo=ET), False, {}, POLICY).first == (
        eve.first
    )
