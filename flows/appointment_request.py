"""The 2023 online request for an in-person appointment at a field office.

Request types (ADIT stamp, emergency advance parole, Immigration Judge grant, other) and
their document checklists are configuration. USCIS reviews the documents and decides;
a preferred date can be asked for but is never guaranteed, so it is only recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

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
    DOCUMENTS_MISSING = "appointment.documents_missing"
    PHONE_OK = "appointment.phone_ok"
    PHONE_UNREADABLE = "appointment.phone_unreadable"
    ZIP_OK = "appointment.zip_ok"  # a ZIP code that cannot be used: `flows.zip_codes.ZipRule`
    DATE_OK = "appointment.date_ok"
    DATE_SKIPPED = "appointment.date_skipped"
    DATE_UNREADABLE = "appointment.date_unreadable"
    DATE_NOT_FUTURE = "appointment.date_not_future"
    DATE_TOO_FAR = "appointment.date_too_far"


class RequestType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str = Field(min_length=1)
    description: str = Field(min_length=1)
    checklist: list[str] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _short_id(cls, value: str) -> str:
        if not _REQUEST_ID.match(value):
            raise ValueError("must be lower case letters, digits or _, at most 24 characters")
        return value


class RequestTypes(BaseModel):
    """`config/appointment_requests.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_days_ahead: int = Field(default=180, ge=1)
    types: list[RequestType] = Field(min_length=1)

    def get(self, type_id: str) -> RequestType | None:
        return next((t for t in self.types if t.id == type_id), None)


@dataclass(frozen=True)
class Decision:
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


def check_preferred_date(text: str, now: datetime, max_days_ahead: int) -> Decision:
    """A preferred date must be a real date (YYYY-MM-DD), after today and not too far."""
    try:
        wanted = date.fromisoformat(text.strip())
    except ValueError:
        return Decision(False, AppointmentRule.DATE_UNREADABLE)
    today = now.date()
    if wanted <= today:
        return Decision(False, AppointmentRule.DATE_NOT_FUTURE)
    if (wanted - today).days > max_days_ahead:
        return Decision(False, AppointmentRule.DATE_TOO_FAR)
    return Decision(True, AppointmentRule.DATE_OK, wanted.isoformat())
