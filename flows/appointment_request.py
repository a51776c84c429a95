"""The 2023 online request for an in-person appointment at a field office.

Request types (ADIT stamp, emergency advance parole, Immigration Judge grant, other) and
their document checklists (each item required or optional) are configuration. USCIS
reviews the documents and decides; a preferred date can be asked for but is never
guaranteed, so it is only recorded. Dates are read as Americans type them (11/30/2026,
Nov 30 2026) or in ISO (2026-11-30); a weekend or a federal holiday is refused with the
reason, since field offices are closed then.
"""

import re
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field, field_validator

MIN_REASON_CHARS = 10
MAX_REASON_CHARS = 1000
_REQUEST_ID = re.compile(r"^[a-z][a-z0-9_]{0,23}$")  # short: it travels in button data


class AppointmentRule(StrEnum):
    """The rules of the in-person request: its answers, and the steps through the form."""

    TYPE_CHOSEN = "appointment.type_chosen"
    REASON_OK = "appointment.reason_ok"
    REASON_TOO_SHORT = "appointment.reason_too_short"
    REASON_TOO_LONG = "appointment.reason_too_long"
    DOCUMENTS_CONFIRMED = "appointment.documents_confirmed"
    DOCUMENTS_MISSING = "appointment.documents_missing"  # a required one is missing
    WHICH_MISSING = "appointment.which_documents_missing"  # asked: optional or required?
    OPTIONAL_MISSING = "appointment.optional_documents_missing"  # only optional: go on
    PHONE_OK = "appointment.phone_ok"
    PHONE_UNREADABLE = "appointment.phone_unreadable"
    ZIP_OK = "appointment.zip_ok"  # a ZIP code that cannot be used: `flows.zip_codes.ZipRule`
    DATE_OK = "appointment.date_ok"
    DATE_SKIPPED = "appointment.date_skipped"
    DATE_UNREADABLE = "appointment.date_unreadable"
    DATE_NOT_FUTURE = "appointment.date_not_future"
    DATE_TOO_FAR = "appointment.date_too_far"
    DATE_WEEKEND = "appointment.date_weekend"
    DATE_HOLIDAY = "appointment.date_holiday"


class ChecklistItem(BaseModel):
    """A document to bring. An optional one ("Travel itinerary, if you have one") never
    holds a request back."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    text: str = Field(min_length=1)
    optional: bool = False


class RequestType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str
    label: str = Field(min_length=1)
    description: str = Field(min_length=1)
    # Each item is a text (required) or a table {text = "...", optional = true}.
    checklist: list[ChecklistItem] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _short_id(cls, value: str) -> str:
        if not _REQUEST_ID.match(value):
            raise ValueError("must be lower case letters, digits or _, at most 24 characters")
        return value

    @field_validator("checklist", mode="before")
    @classmethod
    def _plain_items_are_required(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"text": v} if isinstance(v, str) else v for v in value]
        return value

    @property
    def required(self) -> list[str]:
        return [i.text for i in self.checklist if not i.optional]

    @property
    def optional(self) -> list[str]:
        return [i.text for i in self.checklist if i.optional]


class RequestTypes(BaseModel):
    """`config/appointment_requests.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_days_ahead: int = Field(default=180, ge=1)
    types: list[RequestType] = Field(min_length=1)

    def get(self, type_id: str) -> RequestType | None:
        return next((t for t in self.types if t.id == type_id), None)


class Decision(Struct, frozen=True):
    """An accepted or refused answer, with the rule that decided."""

    ok: bool
    rule: AppointmentRule
    value: str | None = None


def check_reason(text: str) -> Decision:
    reason = " ".join(text.split())
    if len(reason) < MIN_REASON_CHARS:
        return Decision(False, AppointmentRule.REASON_TOO_SHORT)
    if len(reason) > MAX_REASON_CHARS:
        return Decision(False, AppointmentRule.REASON_TOO_LONG)
    return Decision(True, AppointmentRule.REASON_OK, reason)


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
# Spanish month names (the day first: "30 de noviembre de 2026", "30 nov 2026").
_MONTHS.update(
    {
        name: number
        for number, names in enumerate(
            (
                ("ene", "enero"),
                ("febrero",),
                ("marzo",),
                ("abr", "abril"),
                ("mayo",),
                ("junio",),
                ("julio",),
                ("ago", "agosto"),
                ("septiembre", "setiembre", "set"),
                ("octubre",),
                ("noviembre",),
                ("dic", "diciembre"),
            ),
            start=1,
        )
        for name in names
    }
)
_SPANISH_DE = re.compile(r"\s+del?\s+")  # "30 de noviembre de 2026" -> "30 noviembre 2026"
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?$")  # 11/30/2026
_MONTH_FIRST = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?(?:\s+(\d{4}))?$")


def read_date(text: str, today: date) -> date | None:
    """A date as an American applicant types it, or None when it cannot be read.

    ISO (2026-11-30), month first with slashes, dots or dashes (11/30/2026, 11/30/26) and
    the month in words (Nov 30 2026, November 30, 2026, 30 November 2026), also in Spanish
    (30 de noviembre de 2026). Without a year, the next such day after `today`. A two-digit
    year is this century's."""
    cleaned = " ".join(text.strip().lower().replace(",", ", ").split()).replace(" ,", ",")
    cleaned = _SPANISH_DE.sub(" ", cleaned)
    year: int | None
    if m := _ISO.match(cleaned):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _US_NUMERIC.match(cleaned):
        month, day, year = int(m[1]), int(m[2]), int(m[3]) if m[3] else None
        if year is not None and year < 100:
            year += 2000
    elif (m := _MONTH_FIRST.match(cleaned)) and m[1] in _MONTHS:
        month, day, year = _MONTHS[m[1]], int(m[2]), int(m[3]) if m[3] else None
    elif (m := _DAY_FIRST.match(cleaned)) and m[2] in _MONTHS:
        day, month, year = int(m[1]), _MONTHS[m[2]], int(m[3]) if m[3] else None
    else:
        return None
    try:
        if year is not None:
            return date(year, month, day)
        this_year = date(today.year, month, day)
        return this_year if this_year > today else date(today.year + 1, month, day)
    except ValueError:
        return None


def check_preferred_date(
    text: str,
    now: datetime,
    max_days_ahead: int,
    closed: Callable[[date], str | None] = lambda _day: None,
) -> Decision:
    """A preferred date must be a readable date after today, not too far ahead, and a day
    field offices are open: not a weekend, not a federal holiday (`closed` names the
    holiday of a day, or None)."""
    today = now.date()
    wanted = read_date(text, today)
    if wanted is None:
        return Decision(False, AppointmentRule.DATE_UNREADABLE)
    if wanted <= today:
        return Decision(False, AppointmentRule.DATE_NOT_FUTURE, wanted.isoformat())
    if (wanted - today).days > max_days_ahead:
        return Decision(False, AppointmentRule.DATE_TOO_FAR, wanted.isoformat())
    if wanted.weekday() >= 5:
        return Decision(False, AppointmentRule.DATE_WEEKEND, wanted.isoformat())
    if closed(wanted) is not None:
        return Decision(False, AppointmentRule.DATE_HOLIDAY, wanted.isoformat())
    return Decision(True, AppointmentRule.DATE_OK, wanted.isoformat())
