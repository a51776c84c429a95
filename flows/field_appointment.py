"""Field-office appointments booked by a Tier 2 officer: which office, which day and time.

The office comes from the applicant's ZIP code (longest matching prefix, a default office
when none matches or the ZIP is unknown). The day is about five business days after the
call (a setting); the time is the first slot within the office's hours that still has
room, moving on to the next business day when that day is full.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, tzinfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flows.business_days import business_days_after, business_days_from
from flows.timeslots import day_slots


class FieldOffice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    address: str
    zip_prefixes: tuple[str, ...] = ()
    opens: time
    closes: time
    slot_minutes: int = Field(default=30, ge=5, le=240)
    capacity: int = Field(default=4, ge=1)

    @model_validator(mode="after")
    def _hours_make_sense(self) -> FieldOffice:
        if self.opens >= self.closes:
            raise ValueError(f"office {self.id}: opens must be before closes")
        for prefix in self.zip_prefixes:
            if not (prefix.isdigit() and 1 <= len(prefix) <= 5):
                raise ValueError(f"office {self.id}: bad ZIP prefix {prefix!r}")
        return self


class FieldOffices(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str
    offices: tuple[FieldOffice, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_exists(self) -> FieldOffices:
        ids = [o.id for o in self.offices]
        if len(set(ids)) != len(ids):
            raise ValueError("office ids must be unique")
        if self.default not in ids:
            raise ValueError(f"default office {self.default!r} is not listed")
        return self

    def by_id(self, office_id: str) -> FieldOffice:
        """The office with `office_id`, or the default one (an office removed from config)."""
        found = next((o for o in self.offices if o.id == office_id), None)
        return found or next(o for o in self.offices if o.id == self.default)

    def for_zip(self, zip_code: str | None) -> FieldOffice:
        """The office serving `zip_code`, or the default office."""
        best: tuple[int, FieldOffice] | None = None
        if zip_code:
            for office in self.offices:
                for prefix in office.zip_prefixes:
                    if zip_code.startswith(prefix) and (best is None or len(prefix) > best[0]):
                        best = (len(prefix), office)
        return best[1] if best else next(o for o in self.offices if o.id == self.default)


def office_slots(day: date, office: FieldOffice, tz: tzinfo | None) -> list[datetime]:
    return day_slots(day, office.opens, office.closes, office.slot_minutes, tz)


def appointment_slot(
    call_at: datetime,
    office: FieldOffice,
    lead_business_days: int,
    booked: Mapping[datetime, int],
    *,
    search_days: int = 20,
) -> datetime | None:
    """The first free slot at `office` from `lead_business_days` business days after the
    call, or None when the next `search_days` business days are all full."""
    first_day = business_days_after(call_at.date(), lead_business_days)
    for n, day in enumerate(business_days_from(first_day)):
        if n >= search_days:
            return None
        for slot in office_slots(day, office, call_at.tzinfo):
            if booked.get(slot, 0) < office.capacity:
                return slot
    return None  # pragma: no cover - the loop above always returns
