"""Biometrics rescheduling under the 2023 rules: who may reschedule online, and when.

Not online (only through the Contact Center): an appointment already rescheduled the
configured number of times (two), one less than the configured notice away (12 hours;
exactly that much is still allowed), one whose time has passed, and cases on the excluded
intercountry-adoption forms. Everything else
may be moved to a free slot at an Application Support Center, with good cause.
"""

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Self

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flows.business_days import federal_calendar
from flows.timeslots import day_slots

_SITE_ID = re.compile(r"^[a-z0-9_]{1,16}$")  # short: it travels in button data


class BiometricsRule(StrEnum):
    """The 2023 rescheduling rules (`decide_reschedule`), and the steps of a reschedule."""

    ELIGIBLE = "biometrics.eligible"
    EXCLUDED_FORM = "biometrics.excluded_form"
    DATE_PASSED = "biometrics.date_passed"
    # The id keeps the historic name; the limit itself is `min_notice_hours` in config.
    TOO_SOON = "biometrics.less_than_12_hours"
    RESCHEDULED_TWICE = "biometrics.rescheduled_twice"
    NO_APPOINTMENT = "biometrics.no_appointment"
    GOOD_CAUSE = "biometrics.good_cause"
    NO_GOOD_CAUSE = "biometrics.no_good_cause"
    DAY_CHOSEN = "biometrics.day_chosen"
    DAY_FULL = "biometrics.day_full"  # the day filled up since the days were shown
    OTHER_DAY = "biometrics.other_day"  # back from the times to the days
    OTHER_SITE = "biometrics.other_site"
    SITE_CHOSEN = "biometrics.site_chosen"
    SLOT_GONE = "biometrics.slot_gone"
    BOOKED = "biometrics.booked"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class GoodCause(_Strict):
    id: str = Field(pattern=r"^[a-z_]{1,24}$")
    label: str = Field(min_length=1)


class SupportCenter(_Strict):
    """An Application Support Center: where biometrics are taken."""

    id: str
    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4], min_length=1)  # Monday is 0
    opens: time = time(8, 0)
    closes: time = time(16, 0)
    slot_minutes: int = Field(default=30, ge=5, le=240)
    capacity: int = Field(default=3, ge=1)

    @field_validator("id")
    @classmethod
    def _short_id(cls, value: str) -> str:
        if not _SITE_ID.match(value):
            raise ValueError("must be 1-16 lower case letters, digits or _")
        return value

    @model_validator(mode="after")
    def _hours(self) -> Self:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return self


class BiometricsRules(_Strict):
    """`config/biometrics.toml`."""

    min_notice_hours: int = Field(default=12, ge=0)
    max_online_reschedules: int = Field(default=2, ge=1)
    excluded_forms: list[str] = ["I-600", "I-600A", "I-800", "I-800A"]
    earliest_after_hours: int = Field(default=24, ge=0)  # no new slot sooner than this
    search_days: int = Field(default=60, ge=1)
    # No longer used (a day is picked, then a time); still accepted so old files load.
    slots_per_page: int = Field(default=4, ge=1, le=8)
    what_to_bring: list[str] = Field(min_length=1)
    good_causes: list[GoodCause] = Field(min_length=1)
    sites: list[SupportCenter] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_sites(self) -> Self:
        ids = [s.id for s in self.sites]
        if len(ids) != len(set(ids)):
            raise ValueError("two sites share an id")
        return self

    def site(self, site_id: str | None) -> SupportCenter | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def cause(self, cause_id: str) -> GoodCause | None:
        return next((c for c in self.good_causes if c.id == cause_id), None)

    def is_excluded(self, form_type: str) -> bool:
        wanted = _form_key(form_type)
        return any(_form_key(f) == wanted for f in self.excluded_forms)


class BiometricsAppointment(Struct, frozen=True):
    form_type: str
    at: datetime  # aware
    reschedules: int


class BiometricsDecision(Struct, frozen=True):
    """Whether the appointment can be rescheduled here, and the rule that decided."""

    allowed: bool
    rule: BiometricsRule


def decide_reschedule(
    appointment: BiometricsAppointment, now: datetime, rules: BiometricsRules
) -> BiometricsDecision:
    """The 2023 rules, checked in the order that gives the applicant the clearest reason."""
    if rules.is_excluded(appointment.form_type):
        return BiometricsDecision(False, BiometricsRule.EXCLUDED_FORM)
    if appointment.at <= now:
        return BiometricsDecision(False, BiometricsRule.DATE_PASSED)
    if appointment.at - now < timedelta(hours=rules.min_notice_hours):
        return BiometricsDecision(False, BiometricsRule.TOO_SOON)
    if appointment.reschedules >= rules.max_online_reschedules:
        return BiometricsDecision(False, BiometricsRule.RESCHEDULED_TWICE)
    return BiometricsDecision(True, BiometricsRule.ELIGIBLE)


class BiometricsSlot(Struct, frozen=True):
    site_id: str
    at: datetime  # aware, in the service's time zone
    free: int

    @property
    def code(self) -> str:
        """Compact local date-time, for button data (``202611241030``)."""
        return self.at.strftime("%Y%m%d%H%M")


def slot_times(
    site: SupportCenter, start: datetime, days: int, is_closed: Callable[[date], bool]
) -> Iterator[datetime]:
    """Every slot start at `site` from `start` (aware) for `days` days, in order."""
    for offset in range(days + 1):
        day = start.date() + timedelta(days=offset)
        if day.weekday() not in site.weekdays or is_closed(day):
            continue
        yield from (
            at
            for at in day_slots(day, site.opens, site.closes, site.slot_minutes, start.tzinfo)
            if at >= start
        )


class BiometricsDay(Struct, frozen=True):
    """A day with free slots at a site, earliest first (never empty)."""

    day: date
    slots: tuple[BiometricsSlot, ...]

    @property
    def first(self) -> datetime:
        return self.slots[0].at

    @property
    def code(self) -> str:
        """The day on a button (``20261124``)."""
        return self.day.strftime("%Y%m%d")


def free_days(
    site: SupportCenter,
    now: datetime,
    booked: Mapping[datetime, int],
    rules: BiometricsRules,
    is_closed: Callable[[date], bool],
) -> list[BiometricsDay]:
    """Every day with a free slot at `site` within `search_days`, not sooner than the lead
    time: what the applicant picks from before picking a time."""
    start = now + timedelta(hours=rules.earliest_after_hours)
    days: dict[date, list[BiometricsSlot]] = {}
    for at in slot_times(site, start, rules.search_days, is_closed):
        taken = booked.get(at, 0)
        if has_room(site, taken):
            days.setdefault(at.date(), []).append(
                BiometricsSlot(site.id, at, site.capacity - taken)
            )
    return [BiometricsDay(day, tuple(slots)) for day, slots in days.items()]


def parse_day_code(code: str) -> date | None:
    """The day a button's code names (`BiometricsDay.code`), or None."""
    if len(code) != len("20261124") or not code.isdigit():
        return None
    try:
        return datetime.strptime(code, "%Y%m%d").date()
    except ValueError:
        return None


def has_room(site: SupportCenter, taken: int) -> bool:
    """Whether a slot with `taken` bookings can take one more: what is offered. (The booking
    write itself states the same capacity as its precondition, which is what holds when
    two applicants press the same slot at once.)"""
    return taken < site.capacity


def parse_slot_code(code: str, tz: tzinfo | None) -> datetime | None:
    """The slot time a button's code names (`BiometricsSlot.code`), or None."""
    if len(code) != len("202611241030") or not code.isdigit():
        return None
    try:
        naive = datetime.strptime(code, "%Y%m%d%H%M")
    except ValueError:
        return None
    return naive.replace(tzinfo=tz)


def federal_closures() -> Callable[[date], bool]:
    """Federal holidays (observed dates and one-off closures included): centers are shut."""
    calendar = federal_calendar()
    return lambda day: day in calendar


def _form_key(form: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", form.upper())
