"""Field-office appointments booked by a Tier 2 officer: which office, which day and time.

The office is the one nearest to the applicant's ZIP code, by the great-circle distance
between the ZIP codes' coordinates (`flows.zip_codes`, data from the `zipcodes` package).
A ZIP code the data does not know, or one outside the United States, has no office: the
applicant is asked again, never sent to a default office. The day is about five business
days after the call (a setting); the time is the first slot within the office's hours, in
the office's own time zone, that still has room, moving on to the next business day when
that day is full.
"""

from collections.abc import Mapping
from datetime import date, datetime, time, tzinfo
from functools import cached_property
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flows.business_days import business_days_after, business_days_from
from flows.steps import Say
from flows.timeslots import day_slots
from flows.zip_codes import ZipPlace, distance_km, five_digits, locate


class FieldOffice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    street: str = Field(min_length=1)
    city: str = Field(min_length=1)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    zip: str
    # IANA name; when left out, the time zone the ZIP code data gives for `zip`.
    timezone: str | None = None
    opens: time  # local to the office's time zone
    closes: time
    slot_minutes: int = Field(default=30, ge=5, le=240)
    capacity: int = Field(default=4, ge=1)  # appointments per slot

    @field_validator("zip")
    @classmethod
    def _five_digits(cls, value: str) -> str:
        if five_digits(value) != value:
            raise ValueError(f"must be a 5-digit ZIP code, not {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @model_validator(mode="after")
    def _hours_make_sense(self) -> Self:
        if self.opens >= self.closes:
            raise ValueError(f"office {self.id}: opens must be before closes")
        return self

    @property
    def address(self) -> str:
        return f"{self.street}, {self.city}, {self.state} {self.zip}"

    @cached_property
    def place(self) -> ZipPlace:
        """Where the office's ZIP code is (looked up on first use)."""
        place = locate(self.zip)
        if place is None:
            raise ValueError(f"field office {self.id}: ZIP code {self.zip} is not in the data")
        return place

    @property
    def zone_name(self) -> str:
        """The office's IANA time zone: configured, or the one of its ZIP code."""
        zone = self.timezone or self.place.timezone
        if zone is None:
            raise ValueError(f"field office {self.id}: no time zone is known; set `timezone`")
        return zone

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)


class FieldOffices(BaseModel):
    """`config/field_offices.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    offices: tuple[FieldOffice, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [o.id for o in self.offices]
        if len(set(ids)) != len(ids):
            raise ValueError("office ids must be unique")
        return self

    def by_id(self, office_id: str) -> FieldOffice | None:
        return next((o for o in self.offices if o.id == office_id), None)

    def nearest(self, place: ZipPlace) -> FieldOffice | None:
        """The office nearest to `place`, or None when the place is not served."""
        if not place.served:
            return None
        return min(
            self.offices,
            key=lambda o: (distance_km(place.lat, place.lon, o.place.lat, o.place.lon), o.id),
        )

    def for_zip(self, zip_code: str | None) -> FieldOffice | None:
        """The office serving `zip_code` (the nearest one), or None when the ZIP code is
        missing, unknown or outside the United States: never a default office."""
        five = five_digits(zip_code)
        place = locate(five) if five else None
        return self.nearest(place) if place is not None else None


def office_slots(day: date, office: FieldOffice, tz: tzinfo | None = None) -> list[datetime]:
    """The office's slots on `day`, by its own clock (or `tz`'s, when given)."""
    return day_slots(day, office.opens, office.closes, office.slot_minutes, tz or office.tz)


def appointment_slot(
    call_at: datetime,
    office: FieldOffice,
    lead_business_days: int,
    booked: Mapping[datetime, int],
    *,
    search_days: int = 20,
) -> datetime | None:
    """The first free slot at `office` from `lead_business_days` business days after the
    call (counted on the office's calendar day), in the office's time zone; None when the
    next `search_days` business days are all full."""
    local_call = call_at.astimezone(office.tz)
    first_day = business_days_after(local_call.date(), lead_business_days)
    for n, day in enumerate(business_days_from(first_day)):
        if n >= search_days:
            return None
        for slot in office_slots(day, office):
            if booked.get(slot, 0) < office.capacity:
                return slot
    return None  # pragma: no cover - the loop above always returns


def office_time(at: datetime, office: FieldOffice, service_tz: tzinfo | None) -> datetime | Say:
    """`at` as the office's clock shows it. When that clock differs from the service's
    (the time zone every other time is said in), the office's time zone is named:
    "Thursday, December 3, 2026, 10:00 a.m. Alaska time"."""
    local = at.astimezone(office.tz)
    if service_tz is not None and local.utcoffset() == at.astimezone(service_tz).utcoffset():
        return local
    return Say(
        "field_office.local_time",
        {"when": local, "zone": Say(f"time_zone.{office.zone_name}")},
    )
